/** The first value of a field in a raw [name, value, …] list, by its lower-case name; undefined if absent. */
export function firstField(raw: readonly string[], lowerName: string): string | undefined {
  const n = lowerName.length;
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!;
    if (k.length === n && k.toLowerCase() === lowerName) return raw[i + 1];
  }
  return undefined;
}
