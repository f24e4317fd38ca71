import { type Readable, Transform } from 'node:stream';
import type { ProxyError } from '../errors/proxy-error.ts';
import { type ClientRequest, requestBody } from '../server/exchange.ts';
import { bodyTooLarge } from './gateway-errors.ts';

/** The request body as the attempts send it: none, a buffer any try can resend, or the live stream. */
export type RequestBody = { readonly kind: 'none' } | { readonly kind: 'buffered'; readonly data: Buffer } | { readonly kind: 'stream'; readonly stream: Readable };

const NONE: RequestBody = { kind: 'none' };

/**
 * The body as far as it can be known without reading it: none, or the live stream when it
 * is larger than `bufferLimit` or of unknown length (a retry is then possible only while
 * not a byte of it was read); null when it is small enough to buffer (bufferBody), so a
 * retry can replay it. A chunked body under `maxBytes` (limits.max_request_body_bytes) is
 * buffered when the limit is within `bufferLimit`, so one over it never reaches the origin,
 * and otherwise counted as it streams, `onOver.stop` called the moment it passes. Synchronous, so
 * a request without a body never waits a tick for it.
 */
export function bodyWithoutReading(
  req: ClientRequest,
  head: { readonly contentLength: number | null; readonly chunked: boolean },
  bufferLimit: number,
  maxBytes: number | null,
  onOver: { stop(e: ProxyError): void },
): RequestBody | null {
  const { contentLength } = head;
  if (contentLength === null) {
    if (!head.chunked) return NONE;
    if (maxBytes === null) return { kind: 'stream', stream: requestBody(req) };
    if (maxBytes <= bufferLimit) return null;
    return { kind: 'stream', stream: limitedBody(requestBody(req), maxBytes, onOver) };
  }
  if (contentLength === 0) return NONE;
  if (contentLength > bufferLimit) return { kind: 'stream', stream: requestBody(req) };
  return null;
}

/** Ends a body read early: when `signal` aborts, the read rejects with `error(bytes read so far)`. */
export type BodyStop = { readonly signal: AbortSignal; readonly error: (readBytes: number) => unknown };

/**
 * The whole body, read into memory; past `maxBytes` it stops reading (the client is
 * answered 413 and the connection closed, the rest never read) and rejects, as it does
 * when `stop` aborts (the total deadline passed, the client left).
 */
export function bufferBody(req: Readable, maxBytes: number | null, stop?: BodyStop): Promise<RequestBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const done = (err: unknown, body?: RequestBody) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', done);
      req.off('close', onClose);
      stop?.signal.removeEventListener('abort', onStop);
      if (err) reject(err);
      else resolve(body!);
    };
    const onStop = () => {
      req.pause();
      done(stop!.error(n));
    };
    const onData = (c: Buffer) => {
      n += c.length;
      if (maxBytes !== null && n > maxBytes) {
        req.pause();
        done(bodyTooLarge({ read: n }, maxBytes));
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => done(null, { kind: 'buffered', data: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) });
    // The client left mid-body: Node may close the request without an 'error'.
    const onClose = () => done(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    if (stop?.signal.aborted) return onStop();
    stop?.signal.addEventListener('abort', onStop, { once: true });
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', done);
    req.on('close', onClose);
  });
}

/** The chunked body as it streams, stopped (and `onOver` told) the moment it passes maxBytes. */
function limitedBody(req: Readable, maxBytes: number, onOver: { stop(e: ProxyError): void }): Readable {
  let n = 0;
  const counted: Transform = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      n += chunk.length;
      if (n <= maxBytes) return callback(null, chunk);
      req.unpipe(counted);
      req.pause();
      const e = bodyTooLarge({ read: n }, maxBytes);
      onOver.stop(e);
      callback(e);
    },
  });
  // The error reaches the request through onOver; the stream's own 'error' may come after
  // the try that read it has let go, and must not go unhandled.
  counted.on('error', () => {});
  return req.pipe(counted);
}

export function replayable(body: RequestBody): boolean {
  return body.kind !== 'stream' || !body.stream.readableDidRead;
}

export function bodyForAttempt(body: RequestBody): Buffer | Readable | null {
  return body.kind === 'none' ? null : body.kind === 'buffered' ? body.data : body.stream;
}
