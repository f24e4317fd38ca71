// Origins that answer, but not in valid HTTP/1.1. Each reads the request with Node's
// parser, then writes its bytes straight onto the socket, past Node's own serializer,
// which would refuse to produce them.
import type { Socket } from 'node:net';
import type { FaultContext, FaultHandle } from './context.ts';
import { createHttpServer, readBody } from './http-server.ts';
import { listenerHandle } from './listener.ts';
import { DEFAULTS } from './options.ts';

// What a TLS server sends to a client that speaks plain HTTP to it: a fatal
// protocol_version alert record, the classic "upstream port speaks TLS" mistake.
const TLS_ALERT = Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46]);

function rawFault(ctx: FaultContext, bytes: () => Buffer | string): FaultHandle {
  const server = createHttpServer(ctx, (req) => {
    readBody(req, ctx, () => {
      const socket: Socket = req.socket;
      socket.end(bytes());
    });
  });
  return listenerHandle(server, ctx, 'http');
}

export function garbageFault(ctx: FaultContext): FaultHandle {
  const junk = ctx.opts.junk ?? DEFAULTS.junk;
  return rawFault(ctx, () => (junk === 'binary' ? TLS_ALERT : 'HTTP/1.1 abc\r\nContent-Length: 2\r\n\r\nok'));
}

export function hugeHeadersFault(ctx: FaultContext): FaultHandle {
  const limit = ctx.opts.headerBytes ?? DEFAULTS.headerBytes;
  const value = 'v'.repeat(1000);
  const lines = ['HTTP/1.1 200 OK', 'Content-Type: text/plain; charset=utf-8', 'Content-Length: 3'];
  for (let size = 0, i = 0; size <= limit; i++) {
    const line = `X-Lab-Pad-${i}: ${value}`;
    lines.push(line);
    size += line.length + 2;
  }
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\nok\n`);
  return rawFault(ctx, () => head);
}

export function badChunkingFault(ctx: FaultContext): FaultHandle {
  return rawFault(
    ctx,
    () => 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nnot a chunk\r\n0\r\n\r\n',
  );
}
