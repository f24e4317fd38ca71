import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';

/** The request body as the attempts send it: none, a buffer any try can resend, or the live stream. */
export type RequestBody = { readonly kind: 'none' } | { readonly kind: 'buffered'; readonly data: Buffer } | { readonly kind: 'stream'; readonly stream: Readable };

const NONE: RequestBody = { kind: 'none' };

/**
 * The body as far as it can be known without reading it: none, or the live stream when it
 * is larger than `limit` or of unknown length (a retry is then possible only while not a
 * byte of it was read); null when it is small enough to buffer (bufferBody), so a retry
 * can replay it. Synchronous, so a request without a body never waits a tick for it.
 */
export function bodyWithoutReading(req: IncomingMessage, contentLength: number | null, chunked: boolean, limit: number): RequestBody | null {
  if (contentLength === null) return chunked ? { kind: 'stream', stream: req } : NONE;
  if (contentLength === 0) return NONE;
  if (contentLength > limit) return { kind: 'stream', stream: req };
  return null;
}

export async function bufferBody(req: IncomingMessage): Promise<RequestBody> {
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
