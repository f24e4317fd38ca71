// The well-behaved origin, which the misbehaving ones build on. Besides its fixed body it
// answers a few paths that a gateway's own tests need: /echo (what arrived, as JSON),
// /bytes/N (a large streamed body), /status/N (an origin error), and any Upgrade (raw echo).
import { createHash } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FaultContext, FaultHandle } from './context.ts';
import { createHttpServer, type HttpServerOptions, readBody, textBody } from './http-server.ts';
import { listenerHandle } from './listener.ts';
import { DEFAULTS, type FaultOptions } from './options.ts';

const CHUNK = Buffer.alloc(64 * 1024, 'x');
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export function healthyFault(ctx: FaultContext, o: HttpServerOptions = {}): FaultHandle {
  const server = createHttpServer(ctx, healthyHandler(ctx), o);
  attachUpgradeEcho(server, ctx);
  return listenerHandle(server, ctx, o.tls ? 'https' : 'http');
}

export function healthyHandler(ctx: FaultContext): (req: IncomingMessage, res: ServerResponse) => void {
  const body = textBody(ctx.opts.bodyBytes ?? DEFAULTS.bodyBytes);
  return (req, res) => {
    readBody(req, ctx, (bytes) => {
      const answer = () => route(req, res, bytes, body);
      const ms = pickLatency(ctx.opts);
      if (ms > 0) ctx.timers.after(ms, answer, req.socket);
      else answer();
    });
  };
}

export function pickLatency(o: FaultOptions): number {
  const l = o.latencyMs ?? DEFAULTS.latencyMs;
  if (typeof l === 'number') return l;
  const [min, max] = l;
  return min + Math.random() * (max - min);
}

function route(req: IncomingMessage, res: ServerResponse, bodyBytes: number, body: Buffer): void {
  res.setHeader('x-lab-port', String(req.socket.localPort));
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const bytes = /^\/bytes\/(\d+)$/.exec(path);
  if (bytes) {
    streamBytes(res, Number(bytes[1]));
    return;
  }
  if (path === '/echo') {
    echo(req, res, bodyBytes);
    return;
  }
  const status = /^\/status\/([1-5]\d\d)$/.exec(path);
  res.writeHead(status ? Number(status[1]) : 200, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': body.length,
  });
  res.end(body);
}

/** What arrived: `headers` are [name, value] pairs in order, with the case and repeats as sent. */
export type EchoBody = {
  method: string;
  url: string;
  httpVersion: string;
  headers: [string, string][];
  bodyBytes: number;
};

function echo(req: IncomingMessage, res: ServerResponse, bodyBytes: number): void {
  const headers: [string, string][] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
  const facts: EchoBody = { method: req.method ?? '', url: req.url ?? '', httpVersion: req.httpVersion, headers, bodyBytes };
  const json = Buffer.from(JSON.stringify(facts));
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': json.length });
  res.end(json);
}

/** Writes only as fast as the client reads, so a 1 GiB body costs 64 KiB of memory. */
function streamBytes(res: ServerResponse, n: number): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': n });
  let left = n;
  const pump = () => {
    while (left > 0) {
      const chunk = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
      left -= chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

/** Accepts any Upgrade and echoes raw bytes: enough for a pass-through test without a WebSocket library. */
export function attachUpgradeEcho(server: Server, ctx: FaultContext): void {
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    ctx.stats.requests++;
    ctx.stats.upgrades++;
    const key = req.headers['sec-websocket-key'];
    const lines = ['HTTP/1.1 101 Switching Protocols', `Upgrade: ${req.headers.upgrade ?? 'websocket'}`, 'Connection: Upgrade'];
    if (typeof key === 'string') {
      lines.push(`Sec-WebSocket-Accept: ${createHash('sha1').update(key + WS_GUID).digest('base64')}`);
    }
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) socket.write(head);
    socket.pipe(socket);
    socket.on('error', () => socket.destroy());
  });
}
