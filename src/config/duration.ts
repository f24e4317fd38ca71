/**
 * Quantities with units, as operators write them in YAML: durations (`250ms`, `5s`, `1m30s`)
 * and sizes (`16kb`, `1mb`). Every function here is pure, so the CLI and the doctor can
 * parse flags with the same rules as the config file.
 */

export type Parsed = { ok: true; value: number } | { ok: false; message: string; hint: string };

const DURATION_UNITS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
/** Spellings people reach for, to turn "unknown unit" into the exact fix. */
const UNIT_ALIASES: Partial<Record<string, keyof typeof DURATION_UNITS>> = {
  ms: 'ms', msec: 'ms', msecs: 'ms', millis: 'ms', milliseconds: 'ms',
  s: 's', sec: 's', secs: 's', second: 's', seconds: 's',
  m: 'm', min: 'm', mins: 'm', minute: 'm', minutes: 'm',
  h: 'h', hr: 'h', hrs: 'h', hour: 'h', hours: 'h',
};
const SIZE_UNITS = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 } as const;

/**
 * setTimeout stores delays as a signed 32-bit int: anything larger fires after 1 ms with
 * only a warning, which would turn a generous timeout into an instant one.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

const DURATION_PART = /(\d+(?:\.\d+)?)([a-zA-Z]+)/gy;

/**
 * A duration in whole milliseconds. A bare number is refused even though it would be easy
 * to guess a unit: `timeout: 30` means 30 s to one reader and 30 ms to another, and the
 * wrong guess fails only under load. The one exception is 0, which needs no unit.
 */
export function parseDuration(input: unknown): Parsed {
  if (input === 0 || input === '0') return { ok: true, value: 0 };
  if (typeof input === 'number') {
    return fail(`${input} has no unit`, unitHint(input));
  }
  if (typeof input !== 'string') {
    return fail(`expected a duration, got ${describe(input)}`, 'write 5s or 500ms');
  }
  const text = input.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return fail(`"${input}" has no unit`, unitHint(Number(text)));
  let total = 0;
  let end = 0;
  DURATION_PART.lastIndex = 0;
  for (let m = DURATION_PART.exec(text); m !== null; m = DURATION_PART.exec(text)) {
    const unit = m[2]!;
    if (!Object.hasOwn(DURATION_UNITS, unit)) {
      const meant = UNIT_ALIASES[unit.toLowerCase()];
      const hint = meant ? `write ${m[1]}${meant}; the units are ms, s, m, h` : 'write 5s or 500ms; the units are ms, s, m, h';
      return fail(`"${input}" has an unknown unit "${unit}"`, hint);
    }
    total += Number(m[1]) * DURATION_UNITS[unit as keyof typeof DURATION_UNITS];
    end = DURATION_PART.lastIndex;
  }
  if (end === 0 || end !== text.length) {
    return fail(`"${input}" is not a duration`, 'write 5s or 500ms; the units are ms, s, m, h');
  }
  // Sub-millisecond precision would be silently dropped by every timer we hand it to.
  if (!Number.isInteger(total)) {
    return fail(`"${input}" is not a whole number of milliseconds`, 'write e.g. 1500ms');
  }
  if (total > MAX_DURATION_MS) {
    return fail(`"${input}" is longer than the longest timer Node.js supports (about 24 days)`, 'use a shorter duration');
  }
  return { ok: true, value: total };
}

/** A size in bytes: a plain integer or a number with b, kb, mb, gb (powers of 1024). */
export function parseSize(input: unknown): Parsed {
  if (typeof input === 'number') {
    if (Number.isSafeInteger(input) && input >= 0) return { ok: true, value: input };
    return fail(`${input} is not a whole number of bytes`, 'write 16kb, 1mb or a plain number of bytes');
  }
  if (typeof input !== 'string') {
    return fail(`expected a size, got ${describe(input)}`, 'write 16kb, 1mb or a plain number of bytes');
  }
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(input.trim());
  const unit = (m?.[2] || 'b').toLowerCase();
  if (!m || !Object.hasOwn(SIZE_UNITS, unit)) {
    return fail(`"${input}" is not a size`, 'write 16kb, 1mb, 1gb or a plain number of bytes');
  }
  const value = Number(m[1]) * SIZE_UNITS[unit as keyof typeof SIZE_UNITS];
  if (!Number.isSafeInteger(value)) {
    return fail(`"${input}" is not a whole number of bytes`, 'write e.g. 1536kb instead of 1.5mb');
  }
  return { ok: true, value };
}

/** The shortest exact spelling: 1500 → "1.5s", 90000 → "90s", 3600000 → "1h". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
    if (ms >= size && (ms % size === 0 || (unit === 's' && ms % 100 === 0))) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** 16384 → "16kb"; sizes that are not a whole number of a unit stay in bytes. */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [['gb', 1024 ** 3], ['mb', 1024 ** 2], ['kb', 1024]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}`;
}

function unitHint(n: number): string {
  return Number.isFinite(n) && n > 0 ? `write ${n}s or ${n}ms` : 'write 5s or 500ms';
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'a map' : `${typeof v} ${JSON.stringify(v)}`;
}

function fail(message: string, hint: string): Parsed {
  return { ok: false, message, hint };
}
