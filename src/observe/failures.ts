import { PROXY_ERROR_TYPES, type Hop } from '../errors/types.ts';
import type { RequestEndEvent } from './events.ts';
import { Ring } from './ring.ts';

/** A failed request as the status API and the dashboard show it: what happened, where, and what to check. */
export type Failure = {
  readonly time: string;
  readonly requestId: string;
  readonly method: string;
  readonly route: string | null;
  readonly pool: string | null;
  readonly upstream: string | null;
  readonly status: number;
  readonly attempts: number;
  readonly durationMs: number;
  /** The Proxy-Status error type, or `origin_5xx` when the origin itself answered 5xx. */
  readonly cause: string;
  readonly detail: string | null;
  readonly message: string | null;
  readonly title: string;
  readonly hop: Hop;
  readonly operator: string | null;
};

export const ORIGIN_5XX = 'origin_5xx';

/**
 * Whether a finished request counts as failed: the answer was 5xx, or the gateway named an
 * error. A client that went away (499) is not a failure anyone can fix: it would only bury
 * the ones that are.
 */
export function isFailure(e: RequestEndEvent): boolean {
  return e.status >= 500 || (e.errorType !== null && e.status !== 499);
}

/** The cause a failure is counted under: its Proxy-Status error type, or origin_5xx. */
export function causeOf(e: RequestEndEvent): string {
  return e.errorType ?? ORIGIN_5XX;
}

export function toFailure(e: RequestEndEvent): Failure {
  const info = e.errorType ? PROXY_ERROR_TYPES[e.errorType] : null;
  return {
    time: e.time.toISOString(),
    requestId: e.requestId,
    method: e.method,
    route: e.route,
    pool: e.pool,
    upstream: e.upstream,
    status: e.status,
    attempts: e.attempts,
    durationMs: Math.round(e.durationMs * 100) / 100,
    cause: causeOf(e),
    detail: e.errorDetail,
    message: e.errorMessage,
    title: info?.title ?? `The origin server answered ${e.status}`,
    hop: info?.hop ?? 'origin',
    operator: info?.operator ?? 'The origin produced this error itself: check its own logs for the request id.',
  };
}

/** The last `capacity` failed requests, newest last. */
export class FailureLog {
  private readonly ring: Ring<Failure>;

  constructor(capacity = 100) {
    this.ring = new Ring(capacity);
  }

  add(e: RequestEndEvent): Failure {
    const f = toFailure(e);
    this.ring.push(f);
    return f;
  }

  list(): Failure[] {
    return this.ring.toArray();
  }
}
