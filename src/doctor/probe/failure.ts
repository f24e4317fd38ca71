// Turns what a probe failed with into a ProbeFailure. The error type comes from the
// gateway's own classifier, so the doctor and the gateway can never name the same OS or
// TLS error differently; the message is the doctor's, because it knows the exact limit
// and address it used.
import { type AttemptProgress, classifyUpstreamError } from '../../errors/classify.ts';
import type { ProbeFailure } from './types.ts';

export type FailureContext = {
  readonly progress: AttemptProgress;
  /** host:port the probe talked to. */
  readonly endpoint: string;
  readonly connectMs: number;
  readonly responseMs: number;
};

export function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

export function probeFailure(err: unknown, ctx: FailureContext, message: string, shownCode = codeOf(err) || 'ERROR'): ProbeFailure {
  const classified = classifyUpstreamError(err, {
    progress: ctx.progress,
    hop: { pool: 'doctor', endpoint: ctx.endpoint, attempt: 1, reused: false },
    limits: { connectMs: ctx.connectMs, responseHeaderMs: ctx.responseMs, idleMs: ctx.responseMs },
  });
  // The gateway files what it cannot name as its own bug; for the doctor it is only unknown.
  const type = classified.detail === 'unclassified_error' ? null : classified.type;
  return { code: shownCode, type, message };
}

/** An error carrying a code the classifier knows, for limits the doctor enforces itself. */
export function codedError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}
