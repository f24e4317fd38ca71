import type { ProxyError } from '../errors/proxy-error.ts';

/** RFC 9110 §9.2.2. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method);
}

export type RetryFacts = {
  readonly method: string;
  /** The connection the failed try used had carried a request before. */
  readonly reused: boolean;
  /** The request body can be sent again: there is none, or not a byte of it was read. */
  readonly bodyReplayable: boolean;
  /** Response bytes already went to the client: nothing can be taken back. */
  readonly committed: boolean;
};

/**
 * Resolves the error's retry safety against this request. A retry must never send a
 * request twice that the origin may have acted on, unless the method says doing so is harmless.
 */
export function mayRetry(err: ProxyError, f: RetryFacts): boolean {
  if (f.committed || !f.bodyReplayable) return false;
  switch (err.retry) {
    case 'yes':
      return true;
    case 'if-reused':
      return f.reused || isIdempotent(f.method);
    case 'idempotent':
      return isIdempotent(f.method);
    case 'no':
      return false;
  }
}
