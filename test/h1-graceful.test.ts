// A graceful stop on the gateway's HTTP/1.1 server (src/server/h1/) while answers are still
// held for the end of the poll phase (src/http1/write-batch.ts): the answer reaches the
// client whole, the connection then ends, and a request the client sends on it afterwards is
// never handed to the pipeline (the origin would run it, and no answer could follow). A
// response destroyed while the one before it on the connection is held does not take that
// one with it.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { sendAfterPoll } from '../src/http1/write-batch.ts';
import { createH1Server, type H1Server } from '../src/server/h1/server.ts';
import type { H1Request } from '../src/server/h1/request.ts';
import type { H1Response } from '../src/server/h1/response.ts';

const LIMITS = { headersTimeoutMs: 5000, requestTimeoutMs: 5000, keepAliveTimeoutMs: 5000, maxHeaderBytes: 16 * 1024 };

async function serve(onRequest: (req: H1Request, res: H1Response, h1: H1Server) => void): Promise<{ h1: H1Server; port: number }> {
  let h1: H1Server | null = null;
  h1 = createH1Server(null, LIMITS, {
    request: (req, res) => onRequest(req, res, h1!),
    upgrade: (_req, socket) => socket.destroy(),
    clientError: (_err, socket) => socket.destroy(),
  });
  h1.server.listen(0, '127.0.0.1');
  await once(h1.server, 'listening');
  return { h1, port: (h1.server.address() as AddressInfo).port };
}

/** Reads until the server ends the connection. */
async function readToEnd(socket: net.Socket): Promise<string> {
  let text = '';
  socket.on('data', (d: Buffer) => {
    text += d.toString('latin1');
  });
  await once(socket, 'end');
  return text;
}

test('closeIdle with an answer still held: it arrives whole, then the end; a later request never reaches the handler', async (t) => {
  const seen: string[] = [];
  const { h1, port } = await serve((req, res, server) => {
    seen.push(req.url);
    res.writeHead(200, ['content-length', '5']);
    // A Buffer, as a proxied body comes: written through write(), which holds it.
    res.end(Buffer.from('first'));
    // The stop comes right after the answer, the connection idle, the answer still held.
    if (req.url === '/one') queueMicrotask(() => server.closeIdle());
  });
  t.after(() => h1.server.close());
  // Half-open, as a client that sends before it notices the server's end.
  const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  await once(client, 'connect');
  const reading = readToEnd(client);
  // A busy loop turn (many writes) first, so that the next answers are held for the end of
  // their poll phase, as under load.
  for (let i = 0; i < 8; i++) sendAfterPoll({ sendHeldWrites() {} }, 'to-client');
  client.write('GET /one HTTP/1.1\r\nHost: t\r\n\r\n');
  // As a client reusing its connection does, before it has seen the end.
  await new Promise((r) => setTimeout(r, 20));
  client.write('POST /two HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc');
  const text = await reading;
  client.destroy();
  assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
  assert.ok(text.endsWith('\r\n\r\nfirst'), `the first answer whole, nothing after it: ${JSON.stringify(text)}`);
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(seen, ['/one'], 'the request sent after the end was not served');
});

test('a pipelined answer destroyed while the one before it is held: the first still arrives whole', async (t) => {
  const { h1, port } = await serve((req, res) => {
    if (req.url === '/ok') {
      res.writeHead(200, ['content-length', '2']);
      res.end(Buffer.from('ok'));
    } else res.destroy();
  });
  t.after(() => h1.server.close());
  const client = net.connect(port, '127.0.0.1');
  await once(client, 'connect');
  let text = '';
  client.on('data', (d: Buffer) => {
    text += d.toString('latin1');
  });
  // One write, so both are parsed in one read: the second is started (and destroyed) in the
  // same loop turn as the first answer, while that answer is still held.
  client.write('GET /ok HTTP/1.1\r\nHost: t\r\n\r\nGET /broken HTTP/1.1\r\nHost: t\r\n\r\n');
  await once(client, 'close');
  assert.match(text, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok$/, `the first answer whole: ${JSON.stringify(text)}`);
});
