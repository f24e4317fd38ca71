import type { ProxyError } from '../errors/proxy-error.ts';
import type { AttemptRecord, RequestCtx } from '../server/request-ctx.ts';

/**
 * The access line of one request, encoded as UTF-8 straight into a byte buffer: the same
 * text pino writes for accessFields (level, time, the fields, msg), without building it as a
 * string first. The string, made of ~30 concatenated pieces, then flattened and encoded,
 * was most of the access log's cost on the request path (~3 µs a request in the bench,
 * where the line written from a ready-made string cost well under one).
 */

/** Bytes a line takes beyond its variable strings: field names, numbers, the clock. */
const FIXED_BYTES = 640;
/** A UTF-16 code unit is at most 6 bytes in JSON (`\u001f`); the bound is never exceeded. */
const PER_CHAR = 6;

/** What a line needs: computed once, so that the rare parts are stringified once. */
export type LineParts = {
  readonly ctx: RequestCtx;
  readonly status: number;
  readonly level: 30 | 40;
  readonly msg: string | undefined;
  /** The rarely present parts, already JSON: tries (a retried request), error. */
  readonly tries: string | null;
  readonly error: string | null;
  /** At most this many bytes will be written. */
  readonly maxBytes: number;
};

export function lineParts(ctx: RequestCtx, status: number, level: 30 | 40, msg: string | undefined): LineParts {
  const tries = ctx.attempts.length > 1 ? JSON.stringify(ctx.attempts) : null;
  const error = ctx.error ? JSON.stringify(errorFields(ctx.error)) : null;
  const cache = ctx.cache;
  const chars =
    len(ctx.requestId) +
    len(ctx.clientIp) +
    len(ctx.req.method) +
    len(ctx.host) +
    len(ctx.req.url) +
    len(ctx.route?.name) +
    len(ctx.attempts.at(-1)?.endpoint) +
    len(msg) +
    (cache?.result === 'stale' ? cache.because.length : 0);
  const maxBytes = FIXED_BYTES + chars * PER_CHAR + (tries === null ? 0 : tries.length * 3) + (error === null ? 0 : error.length * 3);
  return { ctx, status, level, msg, tries, error, maxBytes };
}

function len(s: string | null | undefined): number {
  return s === null || s === undefined ? 0 : s.length;
}

// The constant runs of the line, encoded once.
const OPEN = [Buffer.from('{"level":'), Buffer.from(',"time":"'), Buffer.from('","reqId":')] as const;
const K_CLIENT = Buffer.from(',"client":');
const K_METHOD = Buffer.from(',"method":');
const K_HOST = Buffer.from(',"host":');
const K_PATH = Buffer.from(',"path":');
const K_STATUS = Buffer.from(',"status":');
const K_BYTES = Buffer.from(',"bytes":');
const K_DURATION = Buffer.from(',"durationMs":');
const K_ROUTE = Buffer.from(',"route":');
const K_UPSTREAM = Buffer.from(',"upstream":');
const K_UPSTREAM_STATUS = Buffer.from(',"upstreamStatus":');
const K_ATTEMPTS = Buffer.from(',"attempts":');
const K_TIMINGS = Buffer.from(',"timings":{"dnsMs":');
const K_CONNECT = Buffer.from(',"connectMs":');
const K_TLS = Buffer.from(',"tlsMs":');
const K_TTFB = Buffer.from(',"ttfbMs":');
const K_TOTAL = Buffer.from(',"totalMs":');
const K_TRIES = Buffer.from(',"tries":');
const K_ERROR = Buffer.from(',"error":');
const K_CACHE = Buffer.from(',"cache":"');
const K_STALE_FOR = Buffer.from('","staleFor":');
const K_MSG = Buffer.from(',"msg":');
const NULL = Buffer.from('null');
const CLOSE = Buffer.from('}\n');

/** Writes the line at `off`; returns where it ends. `buf` has at least parts.maxBytes from `off`. */
export function encodeAccessLine(buf: Buffer, off: number, p: LineParts): number {
  const { ctx } = p;
  const last = ctx.attempts.at(-1);
  let o = bytes(buf, off, OPEN[0]);
  o = int(buf, o, p.level);
  o = bytes(buf, o, OPEN[1]);
  o = isoNowInto(buf, o);
  o = bytes(buf, o, OPEN[2]);
  o = str(buf, o, ctx.requestId);
  o = str(buf, bytes(buf, o, K_CLIENT), ctx.clientIp);
  o = str(buf, bytes(buf, o, K_METHOD), ctx.req.method);
  o = str(buf, bytes(buf, o, K_HOST), ctx.host);
  o = str(buf, bytes(buf, o, K_PATH), ctx.req.url);
  o = int(buf, bytes(buf, o, K_STATUS), p.status);
  o = int(buf, bytes(buf, o, K_BYTES), ctx.bytes);
  o = dec(buf, bytes(buf, o, K_DURATION), performance.now() - ctx.start);
  o = str(buf, bytes(buf, o, K_ROUTE), ctx.route?.name);
  o = str(buf, bytes(buf, o, K_UPSTREAM), last?.endpoint);
  o = bytes(buf, o, K_UPSTREAM_STATUS);
  o = ctx.upstreamStatus === null ? bytes(buf, o, NULL) : int(buf, o, ctx.upstreamStatus);
  o = int(buf, bytes(buf, o, K_ATTEMPTS), ctx.attempts.length);
  if (last) o = timings(buf, o, last);
  if (p.tries !== null) {
    o = bytes(buf, o, K_TRIES);
    o += buf.write(p.tries, o);
  }
  if (p.error !== null) {
    o = bytes(buf, o, K_ERROR);
    o += buf.write(p.error, o);
  }
  const cache = ctx.cache;
  if (cache) {
    o = bytes(buf, o, K_CACHE);
    o += buf.write(cache.result, o, 'latin1');
    if (cache.result === 'stale') o = str(buf, bytes(buf, o, K_STALE_FOR), cache.because);
    else buf[o++] = 0x22;
  }
  if (p.msg !== undefined) o = str(buf, bytes(buf, o, K_MSG), p.msg);
  return bytes(buf, o, CLOSE);
}

function timings(buf: Buffer, off: number, a: AttemptRecord): number {
  const c = a.connect;
  let o = decOrNull(buf, bytes(buf, off, K_TIMINGS), c === null ? null : c.dnsMs);
  o = decOrNull(buf, bytes(buf, o, K_CONNECT), c === null ? null : c.connectMs);
  o = decOrNull(buf, bytes(buf, o, K_TLS), c === null ? null : c.tlsMs);
  o = decOrNull(buf, bytes(buf, o, K_TTFB), a.ttfbMs);
  o = dec(buf, bytes(buf, o, K_TOTAL), a.durationMs);
  buf[o] = 0x7d; // }
  return o + 1;
}

function bytes(buf: Buffer, off: number, b: Buffer): number {
  buf.set(b, off);
  return off + b.length;
}

/**
 * A JSON string. Most values need no escape (ASCII, no quote, backslash or control
 * character) and are copied as they are; any other goes through JSON.stringify, as pino's does.
 */
function str(buf: Buffer, off: number, s: string | null | undefined): number {
  if (s === null || s === undefined) return bytes(buf, off, NULL);
  buf[off] = 0x22;
  // Copied as it is checked: for strings this short a call into buf.write costs more.
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return off + buf.write(JSON.stringify(s), off);
    buf[off + 1 + i] = c;
  }
  buf[off + 1 + n] = 0x22;
  return off + n + 2;
}

/** ASCII known to need no escape (the clock). */
function ascii(buf: Buffer, off: number, s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) buf[off + i] = s.charCodeAt(i);
  return off + n;
}

/** A non-negative integer's digits (other numbers as JavaScript writes them; NaN and infinities as JSON does, null). */
function int(buf: Buffer, off: number, n: number): number {
  if (!Number.isFinite(n)) return bytes(buf, off, NULL);
  if (!(n >= 0 && n <= Number.MAX_SAFE_INTEGER && Number.isInteger(n))) return off + buf.write(String(n), off, 'latin1');
  if (n < 10) {
    buf[off] = 0x30 + n;
    return off + 1;
  }
  let digits = 1;
  for (let m = n; m >= 10; m = Math.floor(m / 10)) digits++;
  let o = off + digits;
  for (let m = n; o > off; m = Math.floor(m / 10)) buf[--o] = 0x30 + (m % 10);
  return off + digits;
}

/**
 * Math.round(n * 100) / 100 as JavaScript prints it, from integer hundredths: the shortest
 * decimal of a number of hundredths is its two decimals less their trailing zeros.
 */
function dec(buf: Buffer, off: number, n: number): number {
  const c = Math.round(n * 100);
  if (!Number.isFinite(c)) return bytes(buf, off, NULL);
  if (!(c >= 0 && c < 1e15)) return off + buf.write(String(c / 100), off, 'latin1');
  const whole = Math.floor(c / 100);
  const frac = c - whole * 100;
  let o = int(buf, off, whole);
  if (frac === 0) return o;
  buf[o++] = 0x2e; // .
  buf[o++] = 0x30 + Math.floor(frac / 10);
  if (frac % 10 !== 0) buf[o++] = 0x30 + (frac % 10);
  return o;
}

function decOrNull(buf: Buffer, off: number, n: number | null): number {
  return n === null ? bytes(buf, off, NULL) : dec(buf, off, n);
}

export function errorFields(err: ProxyError): Record<string, unknown> {
  return {
    type: err.type,
    detail: err.detail,
    stage: err.stage,
    source: err.source,
    message: err.explain(),
    ...(err.hop ? { endpoint: err.hop.endpoint, attempt: err.hop.attempt, reused: err.hop.reused } : {}),
  };
}

/** The ISO time up to its seconds' dot ("2026-12-08T01:31:31."), made once a second. */
let isoSecond = Number.NaN;
let isoHead = '';

/**
 * Now's milliseconds within its second, with isoHead brought to that second. Only the
 * milliseconds change within a second, so the rest is made once a second: at a few thousand
 * lines a second, nearly every line falls in a new millisecond, and toISOString() per
 * millisecond was the access line's dearest part (~1.2 µs a request at 5,000 requests/s,
 * `--cpu-prof`).
 */
function isoMillis(): number {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    const full = new Date(second * 1000).toISOString();
    isoHead = full.slice(0, full.length - 4);
  }
  return now - second * 1000;
}

/** pino's isoTime (toISOString() of now). */
export function isoNow(): string {
  const ms = isoMillis();
  return `${isoHead}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
}

/** isoNow()'s text written at `off`; returns where it ends. */
export function isoNowInto(buf: Buffer, off: number): number {
  const ms = isoMillis();
  const o = ascii(buf, off, isoHead);
  buf[o] = 0x30 + Math.floor(ms / 100);
  buf[o + 1] = 0x30 + (Math.floor(ms / 10) % 10);
  buf[o + 2] = 0x30 + (ms % 10);
  buf[o + 3] = 0x5a; // Z
  return o + 4;
}

/** A scratch buffer for lines going to a destination that takes strings. */
let scratch = Buffer.allocUnsafe(16 * 1024);

/** The line as a string, for destinations that take strings (a test's stream, the rotating file). */
export function accessLineString(p: LineParts): string {
  if (scratch.length < p.maxBytes) scratch = Buffer.allocUnsafe(p.maxBytes);
  const end = encodeAccessLine(scratch, 0, p);
  return scratch.toString('utf8', 0, end);
}
