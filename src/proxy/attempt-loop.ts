import { setTimeout as sleep } from 'node:timers/promises';
import type { Limits, Route } from '../config/schema.ts';
import { classifyClientError } from '../errors/classify.ts';
import { ProxyError } from '../errors/proxy-error.ts';
import { type AttemptEndEvent, channels, publishMasked } from '../observe/events.ts';
import { upstreamPath } from '../routing/router.ts';
import { requestBody } from '../server/exchange.ts';
import type { RequestCtx } from '../server/request-ctx.ts';
import { Shed } from '../upstream/limit/concurrency.ts';
import type { EndpointState, UpstreamPool } from '../upstream/pool.ts';
import { Attempt, type AttemptInput } from './attempt.ts';
import { delayMs } from './backoff.ts';
import { clientBodyTimeout, noEndpoint, shed } from './gateway-errors.ts';
import type { UpstreamRequestHead } from './headers.ts';
import { bodyForAttempt, bodyWithoutReading, bufferBody, replayable } from './request-body.ts';
import type { Cancel } from './cancel.ts';
import { isIdempotent, mayRetry } from './retry.ts';

export type LoopInput = {
  readonly ctx: RequestCtx;
  readonly route: Route;
  readonly pool: UpstreamPool;
  readonly head: UpstreamRequestHead;
  /** Set when the client leaves or the total deadline passes; holds the running try, to abort it. */
  readonly cancel: Cancel;
  readonly name: string;
  readonly proxyStatusMember: string;
  /** max_request_body_bytes counts bodies of unknown length (Content-Length is checked before). */
  readonly limits: Limits;
  /** A cached route: what each try does for the cache (see AttemptInput). */
  readonly cache?: Pick<AttemptInput, 'capture' | 'cacheStatus' | 'replaceStatus'> | null;
};

/**
 * The attempt loop: upstreamPeer → attempt, again on each retry the error and the method
 * allow, within the pool's tries, retry budget and backoff. When no endpoint is available
 * it waits (up to wait_for_endpoint) for one to come back rather than failing at once.
 */
export async function attemptLoop(input: LoopInput): Promise<void> {
  const { ctx, route, pool, head, cancel } = input;
  if (pool.limiter) {
    try {
      cancel.permit = pool.limiter.tryAcquire() ?? (await pool.limiter.acquire(cancel.signal));
    } catch (err) {
      if (err instanceof Shed) throw shed(pool, err.reason, err.retryAfterSeconds);
      throw err;
    }
  }
  pool.budget.requestStarted();
  // One async frame for the whole loop (no inner function, no per-request closures): this runs
  // for every request, and each frame and closure is garbage the next scavenge must sweep.
  try {
    const { req } = ctx;
    const method = req.method ?? 'GET';
    const maxBytes = input.limits.maxRequestBodyBytes;
    let body = bodyWithoutReading(req, head, pool.config.retry.bufferBodyBytes, maxBytes, cancel);
    if (body === null) {
      try {
        // A client still sending when the total deadline passes is the client's delay: 408.
        const error = (n: number) => (cancel.reason?.detail === 'total_timeout' ? clientBodyTimeout(route, n) : cancel.reason);
        body = await bufferBody(requestBody(req), maxBytes, { signal: cancel.signal, error });
      } catch (err) {
        throw err instanceof ProxyError ? err : classifyClientError(err);
      }
    }
    if (cancel.reason) throw cancel.reason;
    const repeatable = isIdempotent(method) || (route.retryWithIdempotencyKey && head.idempotencyKey);
    const path = upstreamPath(route, req.url ?? '/');
    const maxTries = pool.config.retry.tries;
    const waitUntil = ctx.start + pool.config.waitForEndpointMs;
    // The endpoints tried so far: most requests need one try, so the Set is made for a second.
    let first: EndpointState | null = null;
    let tried: Set<EndpointState> | null = null;
    let last: ProxyError | null = null;
    let waitedMs = 0;
    for (let n = 1; ; n++) {
      const now = performance.now();
      if (first !== null && tried === null) tried = new Set([first]);
      // Every endpoint tried already: the same ones again, rather than none.
      let endpoint: EndpointState | null = pool.pick(tried, now) ?? (tried !== null ? pool.pick(null, now) : null);
      while (endpoint === null) {
        const t0 = performance.now();
        if (await pool.waitForEndpoint(waitUntil, cancel.signal)) {
          waitedMs += performance.now() - t0;
          endpoint = pool.pick(null, performance.now());
          continue;
        }
        if (cancel.reason) throw cancel.reason;
        endpoint = pool.pickPanic(tried ?? NONE_TRIED);
        if (endpoint === null) throw noEndpoint(pool, waitedMs);
      }
      const retry = n > 1;
      if (retry) {
        if (!pool.budget.canRetry()) throw last!.because('retry budget exhausted: retries are limited to a share of live requests');
        // Straight to another endpoint; back off only before asking the same one again.
        if (tried?.has(endpoint)) {
          const ms = delayMs(n - 1, pool.config.retry.backoff.baseMs, pool.config.retry.backoff.maxMs);
          if (ms > 0) await sleep(ms, undefined, { signal: cancel.signal }).catch(() => {});
          if (cancel.reason) throw cancel.reason;
        }
        pool.budget.retryStarted();
      }
      if (tried !== null) tried.add(endpoint);
      else first = endpoint;
      // A request that could not be sent again goes on a connection proven safe, or a fresh one.
      pool.beforeDispatch(endpoint, repeatable && body.kind !== 'stream');
      const attempt = new Attempt({
        ctx,
        endpoint,
        attempt: n,
        method,
        path,
        headers: head.headers,
        body: bodyForAttempt(body),
        timeouts: route.timeouts,
        name: input.name,
        proxyStatusMember: input.proxyStatusMember,
        perTryTimeoutMs: pool.config.retry.perTryTimeoutMs,
        maxResponseBodyBytes: input.limits.maxResponseBodyBytes,
        capture: input.cache?.capture ?? null,
        cacheStatus: input.cache?.cacheStatus ?? null,
        replaceStatus: input.cache?.replaceStatus ?? null,
        pool,
        control: cancel,
      });
      cancel.current = attempt;
      try {
        await attempt.start();
        ctx.attempts.push(record(attempt, null));
        publishAttempt(attempt, null, false);
        if (retry) publishMasked({ pool: pool.name, kind: 'retry', detail: `try ${n} succeeded after ${last?.type}` });
        if (waitedMs > 0) pool.noteWaited(waitedMs);
        break;
      } catch (err) {
        const e = err as ProxyError;
        ctx.attempts.push(record(attempt, e));
        pool.reportFailure(endpoint, e, performance.now(), attempt.facts.reused ? attempt.facts.idleMs : null);
        last = e;
        // While the pool may still come back, a failed connect does not use up the tries:
        // the connect hold spaces the probes, so waiting requests cannot storm the origin.
        const mayWait = e.stage === 'connect' && performance.now() < waitUntil;
        const again =
          !ctx.clientGone &&
          cancel.reason === null &&
          (n < maxTries || mayWait) &&
          mayRetry(e, { repeatable, bodyReplayable: replayable(body), committed: ctx.res.headersSent });
        publishAttempt(attempt, e, again);
        if (!again) throw e;
      } finally {
        if (retry) pool.budget.retryFinished();
      }
    }
  } finally {
    pool.budget.requestFinished();
    // Still held: the origin never answered (its headers give the permit back, Attempt).
    cancel.permit?.release(true);
    cancel.permit = null;
  }
}

const NONE_TRIED: ReadonlySet<EndpointState> = new Set();

function publishAttempt(a: Attempt, e: ProxyError | null, retried: boolean): void {
  if (!channels.attemptEnd.hasSubscribers) return;
  channels.attemptEnd.publish({
    pool: a.input.endpoint.pool,
    endpoint: a.input.endpoint.address,
    attempt: a.input.attempt,
    durationMs: a.durationMs(),
    status: a.status,
    errorType: e?.type ?? null,
    retried,
  } satisfies AttemptEndEvent);
}

function record(a: Attempt, e: ProxyError | null): RequestCtx['attempts'][number] {
  return {
    endpoint: a.input.endpoint.address,
    reused: a.facts.reused,
    durationMs: Math.round(a.durationMs() * 100) / 100,
    status: a.status,
    error: e ? { type: e.type, detail: e.detail } : null,
    connect: a.facts.timings,
    ttfbMs: a.ttfbMs === null ? null : Math.round(a.ttfbMs * 100) / 100,
  };
}
