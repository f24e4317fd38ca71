// The HTTP/1.1 server under every fault that reads a request: Node's own parser, so
// that what counts as "a request reached the origin" is what a real origin accepts.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { loadTlsFixture } from '../tls-fixture.ts';
import type { FaultContext } from './context.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export type HttpServerOptions = {
  tls?: boolean;
  /** Node's own keep-alive timeout; 0 leaves idle connections to the fault. Default Node's (5 s). */
  keepAliveTimeout?: number;
};

export function createHttpServer(ctx: FaultContext, handler: Handler, o: HttpServerOptions = {}): http.Server {
  const options: http.ServerOptions = {
    // The lab observes what a gateway forwards, so it must not reject what a strict origin would.
    requireHostHeader: false,
    // A slow fault decides itself how long a request may take.
    requestTimeout: 0,
    ...(o.keepAliveTimeout === undefined ? {} : { keepAliveTimeout: o.keepAliveTimeout }),
  };
  const server = o.tls ? https.createServer({ ...options, ...loadTlsFixture() }) : http.createServer(options);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    ctx.stats.requests++;
    handler(req, res);
  });
  return server;
}

/** Counts the request body as it streams (never buffers it), then calls `done`. */
export function readBody(req: IncomingMessage, ctx: FaultContext, done: (bytes: number) => void): void {
  let bytes = 0;
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    ctx.stats.bodyBytes += chunk.length;
  });
  req.once('end', () => done(bytes));
}

const SENTENCE = 'gatewise lab origin: this is the body of a healthy answer. ';

/** A text body of exactly `n` bytes ending with a newline. */
export function textBody(n: number): Buffer {
  if (n <= 0) return Buffer.alloc(0);
  const text = SENTENCE.repeat(Math.ceil(n / SENTENCE.length)).slice(0, n - 1);
  return Buffer.from(`${text}\n`);
}
