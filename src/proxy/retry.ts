import type { ProxyError } from '../errors/proxy-error.ts';

/** RFC 9110 §9.2.2. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method);
}

export type RetryFacts = {
  /**
   * Sending the request twice is harmless: an idempotent method, or a client that sent an
   * Idempotency-Key on a route that opted in to trusting it.
   */
  readonly repeatable: boolean;
  /** The request body can be sent again: there is none, it was buffered, or not a byte was read. */
  readonly bodyReplayable: boolean;
  /** Response bytes already went to the client: nothing can be taken back. */
  readonly committed: boolean;
};

/**
 * Resolves the error's retry safety against this request. A retry must never send a
 * request twice that the origin may have acted on, unless sending it twice is harmless.
 * `if-reused` (the origin closed a pooled connection as the request went out) counts as
 * possibly-sent: an origin that crashed mid-request looks the same from here.
 */
export function mayRetry(err: ProxyError, f: RetryFacts): boolean {
  if (f.committed || !f.bodyReplayable) return false;
  switch (err.retry) {
    case 'yes':
      return true;
    case 'if-reused':
    case 'idempotent':
      return f.repeatable;
    case 'no':
      return false;
  }
}
