import type { Logger } from 'pino';
import type { RequestCtx } from '../server/request-ctx.ts';

/** The status the log reports: 499 when the client left before the answer was complete. */
export function loggedStatus(ctx: RequestCtx): number {
  if (ctx.clientGone) return 499;
  return ctx.res.statusCode;
}

/** The logging phase: one structured line per request, written exactly once. */
export function logRequest(log: Logger, ctx: RequestCtx): void {
  const last = ctx.attempts.at(-1);
  const err = ctx.error;
  const status = loggedStatus(ctx);
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
  if (last) {
    line.timings = {
      dnsMs: roundOrNull(last.connect?.dnsMs ?? null),
      connectMs: roundOrNull(last.connect?.connectMs ?? null),
      tlsMs: roundOrNull(last.connect?.tlsMs ?? null),
      ttfbMs: roundOrNull(last.ttfbMs),
      totalMs: round(last.durationMs),
    };
  }
  if (ctx.attempts.length > 1) line.tries = ctx.attempts;
  if (err) {
    line.error = {
      type: err.type,
      detail: err.detail,
      stage: err.stage,
      source: err.source,
      message: err.explain(),
      ...(err.hop ? { endpoint: err.hop.endpoint, attempt: err.hop.attempt, reused: err.hop.reused } : {}),
    };
  }
  if (status >= 500 || err) log.warn(line, err ? `${status} ${err.type}` : `${status}`);
  else log.info(line);
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

function roundOrNull(n: number | null): number | null {
  return n === null ? null : round(n);
}
