import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';

/** The request body as the attempts send it: none, a buffer any try can resend, or the live stream. */
export type RequestBody = { readonly kind: 'none' } | { readonly kind: 'buffered'; readonly data: Buffer } | { readonly kind: 'stream'; readonly stream: Readable };

const NONE: RequestBody = { kind: 'none' };

/**
 * Buffers a body whose Content-Length is within `limit`, so a retry can replay it; anything
 * larger, or of unknown length, streams through untouched (a retry is then possible only
 * while not a byte of it was read).
 */
export async function requestBody(req: IncomingMessage, limit: number): Promise<RequestBody> {
  const cl = req.headers['content-length'];
  if (cl === undefined) return req.headers['transfer-encoding'] === undefined ? NONE : { kind: 'stream', stream: req };
  const length = Number(cl);
  if (length === 0) return NONE;
  if (length > limit) return { kind: 'stream', stream: req };
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return { kind: 'buffered', data: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) };
}

export function replayable(body: RequestBody): boolean {
  return body.kind !== 'stream' || !body.stream.readableDidRead;
}

export function bodyForAttempt(body: RequestBody): Buffer | Readable | null {
  return body.kind === 'none' ? null : body.kind === 'buffered' ? body.data : body.stream;
}
