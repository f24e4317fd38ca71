// `${origin.NAME.url}`-style placeholders in gateway fragments and proxy config templates.
// Only the lab's own prefixes are touched: nginx writes `${host}` for its own variables,
// and a template must survive substitution unchanged there.

const PREFIXES = ['origin', 'dns', 'gateway', 'proxy'] as const;
const PLACEHOLDER = /\$\{((?:origin|dns|gateway|proxy)\.[A-Za-z0-9_.-]+)\}/g;

export type Vars = Map<string, string>;

export class PlaceholderError extends Error {
  override readonly name = 'PlaceholderError';
}

export function substitute(text: string, vars: Vars, where: string): string {
  return text.replace(PLACEHOLDER, (whole, key: string) => {
    const value = vars.get(key);
    if (value !== undefined) return value;
    const prefix = key.split('.')[0]!;
    const known = [...vars.keys()].filter((k) => k.startsWith(`${prefix}.`));
    throw new PlaceholderError(
      `${where}: unknown placeholder ${whole}${known.length > 0 ? ` (known: ${known.map((k) => `\${${k}}`).join(', ')})` : ` (nothing named ${prefix}.* is running yet)`}`,
    );
  });
}

/** Substitutes inside every string of a YAML-shaped value. */
export function substituteDeep(value: unknown, vars: Vars, where: string): unknown {
  if (typeof value === 'string') return substitute(value, vars, where);
  if (Array.isArray(value)) return value.map((v) => substituteDeep(v, vars, where));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteDeep(v, vars, where)]));
  }
  return value;
}

/** The names of `${gateway.NAME.*}` a fragment refers to: they must start first. */
export function gatewayRefs(value: unknown): Set<string> {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const refs = new Set<string>();
  for (const m of text.matchAll(PLACEHOLDER)) {
    const [prefix, name] = m[1]!.split('.');
    if (prefix === 'gateway' && name) refs.add(name);
  }
  return refs;
}

export function urlVars(prefix: (typeof PREFIXES)[number], name: string, url: string): [string, string][] {
  const u = new URL(url);
  return [
    [`${prefix}.${name}.url`, url],
    [`${prefix}.${name}.host`, u.hostname.replace(/^\[(.*)\]$/, '$1')],
    [`${prefix}.${name}.port`, u.port],
  ];
}
