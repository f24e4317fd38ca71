// Hand-rolled timestamp readers: Date.parse does not know these layouts, and a
// regex per line costs more than reading a dozen digits by position.
// Timestamps without a zone (nginx error log, Apache, PHP-FPM) are read as UTC:
// servers on one host share a clock, so correlation across files still holds.

const MONTHS: Readonly<Record<string, number>> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

function num(s: string, from: number, len: number): number {
  let n = 0;
  for (let i = from; i < from + len; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return Number.NaN;
    n = n * 10 + d;
  }
  return n;
}

function fraction(s: string, from: number): number {
  // Milliseconds from ".123456": only the first three digits matter.
  if (s.charCodeAt(from) !== 46) return 0;
  let ms = 0;
  let scale = 100;
  for (let i = from + 1; i < s.length && scale >= 1; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    ms += d * scale;
    scale /= 10;
  }
  return ms;
}

function utc(y: number, mo: number | undefined, d: number, h: number, mi: number, se: number, ms = 0): number | null {
  if (mo === undefined || Number.isNaN(y + d + h + mi + se)) return null;
  return Date.UTC(y, mo, d, h, mi, se, ms);
}

/** "2023/04/11 10:12:13" (nginx error log). */
export function nginxErrorTime(s: string, at = 0): number | null {
  return utc(
    num(s, at, 4),
    num(s, at + 5, 2) - 1,
    num(s, at + 8, 2),
    num(s, at + 11, 2),
    num(s, at + 14, 2),
    num(s, at + 17, 2),
  );
}

/** "10/Oct/2023:13:55:36 +0000" or "06/Feb/2009:12:14:14.655" (nginx access, HAProxy). */
export function clfTime(s: string, at = 0): number | null {
  const base = utc(
    num(s, at + 7, 4),
    MONTHS[s.slice(at + 3, at + 6)],
    num(s, at, 2),
    num(s, at + 12, 2),
    num(s, at + 15, 2),
    num(s, at + 18, 2),
    fraction(s, at + 20),
  );
  if (base === null) return null;
  let z = at + 20;
  while (z < s.length && (s.charCodeAt(z) === 46 || (s.charCodeAt(z) >= 48 && s.charCodeAt(z) <= 57))) z++;
  if (s.charCodeAt(z) !== 32) return base;
  const sign = s[z + 1];
  if (sign !== '+' && sign !== '-') return base;
  const off = num(s, z + 2, 2) * 60 + num(s, z + 4, 2);
  if (Number.isNaN(off)) return base;
  return base - (sign === '+' ? 1 : -1) * off * 60_000;
}

/** "Wed Oct 11 14:32:52.123456 2023" (Apache error log, inside the brackets). */
export function apacheTime(s: string, at = 0): number | null {
  // The year follows the time, after optional microseconds.
  let y = at + 19;
  if (s.charCodeAt(y) === 46) {
    y++;
    while (s.charCodeAt(y) >= 48 && s.charCodeAt(y) <= 57) y++;
  }
  const day = s.charCodeAt(at + 8) === 32 ? num(s, at + 9, 1) : num(s, at + 8, 2);
  return utc(
    num(s, y + 1, 4),
    MONTHS[s.slice(at + 4, at + 7)],
    day,
    num(s, at + 11, 2),
    num(s, at + 14, 2),
    num(s, at + 17, 2),
    fraction(s, at + 19),
  );
}

/** "03-Apr-2020 10:12:13" or with ".123456" (PHP-FPM). */
export function fpmTime(s: string, at = 0): number | null {
  return utc(
    num(s, at + 7, 4),
    MONTHS[s.slice(at + 3, at + 6)],
    num(s, at, 2),
    num(s, at + 12, 2),
    num(s, at + 15, 2),
    num(s, at + 18, 2),
    fraction(s, at + 20),
  );
}

/** ISO 8601 string or epoch seconds (JSON loggers). */
export function jsonTime(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v > 1e12 ? v : v * 1000;
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : t;
  }
  return null;
}

export function iso(t: number | null): string | null {
  return t === null ? null : new Date(t).toISOString();
}
