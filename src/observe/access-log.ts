import type { Logger } from 'pino';
import type { AttemptRecord, RequestCtx } from '../server/request-ctx.ts';
import { accessLineString, encodeAccessLine, errorFields, isoNow, lineParts } from './access-line.ts';

/**
 * A destination that takes finished lines: pino's own SonicBoom, the rotating file, a test's
 * stream; or one that lets a line be encoded straight into its buffer (LineWriter).
 */
export type RawSink = {
  write(line: string): unknown;
  /** Calls encode(buffer, offset, arg) with room for maxBytes at offset; encode returns where the line ends. */
  writeEncoded?<T>(maxBytes: number, encode: (buf: Buffer, off: number, arg: T) => number, arg: T): void;
};

/**
 * Where access lines go. Pino's generic serializer (a key walk and a stringify per value)
 * cost a tenth of a request's CPU in the bench's profile, so when the destination takes raw
 * JSON the line is built here (accessJson), in the same shape pino writes (level, time,
 * fields, msg). pino-pretty needs pino's objects, so a terminal gets those.
 */
export type AccessOutput = { readonly kind: 'raw'; readonly sink: RawSink } | { readonly kind: 'pino'; readonly log: Logger } | { readonly kind: 'off' };

/**
 * Access lines leave in batches of up to 32 KiB, at most 50 ms after they were logged (as
 * nginx's `access_log … buffer=32k flush=…`). Each write of an asynchronous destination
 * is a trip through libuv's thread pool, about 40 µs of CPU on the bench's machine: a
 * write per line cost more than a tenth of a proxied request. A stop flushes what is left,
 * and the process's exit, however it comes, writes what is left synchronously (logger.ts).
 */
export class LineBatcher implements RawSink {
  static readonly MAX_BYTES = 32 * 1024;
  static readonly MAX_DELAY_MS = 50;
  private pending = '';
  private timer: NodeJS.Timeout | null = null;
  private readonly sink: RawSink;

  constructor(sink: RawSink) {
    this.sink = sink;
  }

  write(line: string): void {
    this.pending += line;
    if (this.pending.length >= LineBatcher.MAX_BYTES) this.flush();
    else if (this.timer === null) this.timer = setTimeout(this.flush, LineBatcher.MAX_DELAY_MS);
  }

  readonly flush = (): void => {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending === '') return;
    const out = this.pending;
    this.pending = '';
    this.sink.write(out);
  };
}

/** The status the log reports: 499 when the client left before the answer was complete. */
export function loggedStatus(ctx: RequestCtx): number {
  if (ctx.clientGone) return 499;
  return ctx.res.statusCode;
}

/** The logging phase: one structured line per request, written exactly once. */
export function logRequest(out: AccessOutput, ctx: RequestCtx): void {
  if (out.kind === 'off') return;
  const status = loggedStatus(ctx);
  const err = ctx.error;
  const warn = status >= 500 || err !== null;
  const msg = warn ? (err ? `${status} ${err.type}` : `${status}`) : undefined;
  if (out.kind === 'raw') {
    const parts = lineParts(ctx, status, warn ? 40 : 30, msg);
    const sink = out.sink;
    if (sink.writeEncoded) sink.writeEncoded(parts.maxBytes, encodeAccessLine, parts);
    else sink.write(accessLineString(parts));
    return;
  }
  const fields = accessFields(ctx, status);
  if (warn) out.log.warn(fields, msg);
  else out.log.info(fields);
}

/** Any other warning of the access log (a request refused before it was parsed), in the same order as request lines. */
export function logWarning(out: AccessOutput, fields: Record<string, unknown>, msg: string): void {
  if (out.kind === 'raw') out.sink.write(`${JSON.stringify({ level: 40, time: isoNow(), ...fields, msg })}\n`);
  else if (out.kind === 'pino') out.log.warn(fields, msg);
}

/** The line's fields, for pino. */
export function accessFields(ctx: RequestCtx, status: number): Record<string, unknown> {
  const last = ctx.attempts.at(-1);
  const line: Record<string, unknown> = {
    reqId: ctx.requestId,
    client: ctx.clientIp,
    method: ctx.req.method,
    host: ctx.host,
    path: ctx.req.url,
    status,
    bytes: ctx.bytes,
    durationMs: round(performance.now() - ctx.start),
    route: ctx.route?.name ?? null,
    upstream: last?.endpoint ?? null,
    upstreamStatus: ctx.upstreamStatus,
    attempts: ctx.attempts.length,
  };
  if (last) line.timings = timings(last);
  if (ctx.attempts.length > 1) line.tries = ctx.attempts;
  if (ctx.error) line.error = errorFields(ctx.error);
  if (ctx.cache) {
    line.cache = ctx.cache.result;
    if (ctx.cache.result === 'stale') line.staleFor = ctx.cache.because;
  }
  return line;
}

/** The same line as pino writes for accessFields (level, time, the fields, msg), as a string. */
export function accessJson(ctx: RequestCtx, status: number, level: 30 | 40, msg: string | undefined): string {
  return accessLineString(lineParts(ctx, status, level, msg));
}

function timings(a: AttemptRecord) {
  return {
    dnsMs: roundOrNull(a.connect?.dnsMs ?? null),
    connectMs: roundOrNull(a.connect?.connectMs ?? null),
    tlsMs: roundOrNull(a.connect?.tlsMs ?? null),
    ttfbMs: roundOrNull(a.ttfbMs),
    totalMs: round(a.durationMs),
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

function roundOrNull(n: number | null): number | null {
  return n === null ? null : round(n);
}
