// A client that pipelines without end, on the gateway's HTTP/1.1 server (src/server/h1/):
// once 16 requests wait behind the one being answered the socket is no longer read, so what
// the client sends past that waits in the kernel instead of the gateway's memory; once the
// answers flow again every request is read and answered, in order, none lost.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { createH1Server } from '../src/server/h1/server.ts';
import type { H1Response } from '../src/server/h1/response.ts';

const LIMITS = { headersTimeoutMs: 10_000, requestTimeoutMs: 10_000, keepAliveTimeoutMs: 10_000, maxHeaderBytes: 16 * 1024 };

test('pipelined requests past 16 are left unread while the first is answered, then all are answered in order', async (t) => {
  let held: H1Response | null = null;
  // Set in callbacks, so held in an object (TypeScript would narrow a plain let to null).
  const conn: { server: net.Socket | null } = { server: null };
  const seen: string[] = [];
  const h1 = createH1Server(null, LIMITS, {
    request: (req, res) => {
      seen.push(req.url);
      if (req.url === '/hold') {
        held = res;
        return;
      }
      res.writeHead(200, ['content-length', String(req.url.length)]);
      res.end(req.url);
    },
    upgrade: (_req, socket) => socket.destroy(),
    clientError: (_err, socket) => socket.destroy(),
  });
  h1.server.on('connection', (s: net.Socket) => {
    conn.server = s;
  });
  h1.server.listen(0, '127.0.0.1');
  await once(h1.server, 'listening');
  t.after(() => {
    h1.closeAll();
    h1.server.close();
  });

  const n = 20_000;
  let wire = 'GET /hold HTTP/1.1\r\nHost: t\r\n\r\n';
  for (let i = 0; i < n; i++) wire += `GET /${i} HTTP/1.1\r\nHost: t\r\nX-Pad: ${'p'.repeat(40)}\r\n\r\n`;
  const client = net.connect((h1.server.address() as AddressInfo).port, '127.0.0.1');
  await once(client, 'connect');
  let text = '';
  client.on('data', (d: Buffer) => {
    text += d.toString('latin1');
  });
  client.write(wire);

  // Until what the server has read stops growing.
  let read = -1;
  for (let i = 0; i < 50 && conn.server?.bytesRead !== read; i++) {
    read = conn.server?.bytesRead ?? -1;
    await sleep(100);
  }
  assert.ok(held !== null, 'the first request reached the handler');
  assert.deepEqual(seen, ['/hold'], 'the pipelined ones wait their turn');
  // 16 waiting requests are ~1.2 KiB; one read of 64 KiB may be parsed past the limit.
  assert.ok(read > 0 && read < 200 * 1024, `the server read ${read} of ${Buffer.byteLength(wire)} bytes`);

  const first = held as H1Response;
  first.writeHead(200, ['content-length', '4']);
  first.end('held');
  const ended = (s: string) => (s.match(/HTTP\/1\.1 200 /g) ?? []).length === n + 1 && s.endsWith(`/${n - 1}`);
  for (let i = 0; i < 200 && !ended(text); i++) await sleep(50);
  assert.equal(conn.server?.bytesRead, Buffer.byteLength(wire), 'every byte was read in the end');
  assert.equal(seen.length, n + 1);
  const bodies = [...text.matchAll(/\r\n\r\n([^H]*)/g)].map((m) => m[1]);
  assert.equal(bodies.length, n + 1);
  assert.equal(bodies[0], 'held');
  for (let i = 0; i < n; i++) if (bodies[i + 1] !== `/${i}`) assert.fail(`answer ${i + 1} is ${bodies[i + 1]}, not /${i}`);
  client.destroy();
});
