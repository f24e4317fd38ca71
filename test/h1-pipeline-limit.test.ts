// A client that pipelines without end, on the gateway's HTTP/1.1 server (src/server/h1/):
// once 16 requests wait behind the one being answered the socket is no longer read, so what
// the client sends past that waits in the kernel instead of the gateway's memory; once the
// answers flow again every request is read and answered, in order, none lost. The pause is
// the gateway's own: it neither times the client out nor keeps a connection that ends.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import { createH1Server } from '../src/server/h1/server.ts';
import type { H1Response } from '../src/server/h1/response.ts';

const LIMITS = { headersTimeoutMs: 10_000, requestTimeoutMs: 10_000, keepAliveTimeoutMs: 10_000, maxHeaderBytes: 16 * 1024 };
const N = 20_000;

type Served = {
  port: number;
  /** Set in callbacks, so held in an object (TypeScript would narrow a plain let to null). */
  state: { held: H1Response | null; server: net.Socket | null };
  seen: string[];
  errors: string[];
};

/** /hold is answered only when the test says; every other path gets its own path back. */
async function serve(t: TestContext, limits = LIMITS): Promise<Served> {
  const served: Served = { port: 0, state: { held: null, server: null }, seen: [], errors: [] };
  const h1 = createH1Server(null, limits, {
    request: (req, res) => {
      served.seen.push(req.url);
      if (req.url === '/hold') {
        served.state.held = res;
        return;
      }
      res.writeHead(200, ['content-length', String(req.url.length)]);
      res.end(req.url);
    },
    upgrade: (_req, socket) => socket.destroy(),
    clientError: (err, socket) => {
      served.errors.push((err as NodeJS.ErrnoException).code ?? err.message);
      socket.destroy();
    },
  });
  h1.server.on('connection', (s: net.Socket) => {
    served.state.server = s;
  });
  h1.server.listen(0, '127.0.0.1');
  await once(h1.server, 'listening');
  t.after(() => {
    h1.closeAll();
    h1.server.close();
  });
  served.port = (h1.server.address() as AddressInfo).port;
  return served;
}

const READ = 64 * 1024;

/**
 * `head` (the held first request's head, without its blank line), then N pipelined GETs of
 * ~80 bytes: a read of 64 KiB ends inside a head, or, `aligned`, the first request is padded
 * so that the first read ends between two requests (then no head is left half read).
 */
function pipelined(head: string, aligned = false): string {
  const rest: string[] = [];
  for (let i = 0; i < N; i++) rest.push(`GET /${i} HTTP/1.1\r\nHost: t\r\nX-Pad: ${'p'.repeat(40)}\r\n\r\n`);
  if (!aligned) return `${head}\r\n${rest.join('')}`;
  const padField = 'X-A: \r\n';
  let used = head.length + padField.length + 2;
  let k = 0;
  while (used + rest[k]!.length <= READ) used += rest[k++]!.length;
  const first = `${head}X-A: ${'a'.repeat(READ - used)}\r\n\r\n`;
  assert.equal(first.length + rest.slice(0, k).join('').length, READ);
  return first + rest.join('');
}

/** What the server has read, once it stops growing. */
async function settledRead(s: Served): Promise<number> {
  let read = -1;
  for (let i = 0; i < 50 && s.state.server?.bytesRead !== read; i++) {
    read = s.state.server?.bytesRead ?? -1;
    await sleep(100);
  }
  return read;
}

function answer(s: Served, fields: string[] = []): void {
  assert.ok(s.state.held !== null, 'the first request reached the handler');
  s.state.held.writeHead(200, ['content-length', '4', ...fields]);
  s.state.held.end('held');
}

async function allAnswered(s: Served, client: net.Socket, text: () => string): Promise<void> {
  const ended = (x: string) => (x.match(/HTTP\/1\.1 200 /g) ?? []).length === N + 1 && x.endsWith(`/${N - 1}`);
  for (let i = 0; i < 200 && !ended(text()); i++) await sleep(50);
  assert.deepEqual(s.errors, [], 'no request was refused');
  assert.equal(s.seen.length, N + 1);
  const bodies = [...text().matchAll(/\r\n\r\n([^H]*)/g)].map((m) => m[1]);
  assert.equal(bodies.length, N + 1);
  assert.equal(bodies[0], 'held');
  for (let i = 0; i < N; i++) if (bodies[i + 1] !== `/${i}`) assert.fail(`answer ${i + 1} is ${bodies[i + 1]}, not /${i}`);
  client.destroy();
}

async function connect(s: Served, wire: string): Promise<{ client: net.Socket; text: () => string }> {
  const client = net.connect({ port: s.port, host: '127.0.0.1', allowHalfOpen: true });
  await once(client, 'connect');
  let text = '';
  client.on('data', (d: Buffer) => {
    text += d.toString('latin1');
  });
  client.write(wire);
  return { client, text: () => text };
}

test('pipelined requests past 16 are left unread while the first is answered, then all are answered in order', async (t) => {
  const s = await serve(t);
  const wire = pipelined('GET /hold HTTP/1.1\r\nHost: t\r\n');
  const { client, text } = await connect(s, wire);
  const read = await settledRead(s);
  assert.deepEqual(s.seen, ['/hold'], 'the pipelined ones wait their turn');
  // 16 waiting requests are ~1.3 KiB; one read of 64 KiB may be parsed past the limit.
  assert.ok(read > 0 && read < 200 * 1024, `the server read ${read} of ${Buffer.byteLength(wire)} bytes`);
  answer(s);
  await allAnswered(s, client, text);
  assert.equal(s.state.server?.bytesRead, Buffer.byteLength(wire), 'every byte was read in the end');
});

test('the pause is not the client being late: a header timeout shorter than the held answer cuts nothing', async (t) => {
  const s = await serve(t, { ...LIMITS, headersTimeoutMs: 300, requestTimeoutMs: 300 });
  const { client, text } = await connect(s, pipelined('GET /hold HTTP/1.1\r\nHost: t\r\n'));
  await settledRead(s);
  // Several sweeps pass while a head cut off by the pause waits.
  await sleep(1000);
  answer(s);
  await allAnswered(s, client, text);
});

test('an answer that ends the connection (Connection: close) behind a full queue: the rest is dropped, and the connection closes once the client ends', async (t) => {
  const s = await serve(t);
  // (A request asking to close would make the parser refuse what follows it: another path.)
  const { client, text } = await connect(s, pipelined('GET /hold HTTP/1.1\r\nHost: t\r\n', true));
  await settledRead(s);
  const server = s.state.server!;
  const closed = once(server, 'close');
  const ended = once(client, 'end');
  answer(s, ['connection', 'close']);
  await ended;
  assert.match(text(), /^HTTP\/1\.1 200 [\s\S]*\r\n\r\nheld$/, 'the one answer, then the end');
  assert.deepEqual(s.seen, ['/hold'], 'none of the requests behind it is served');
  client.end();
  // Read again, the server sees the client's end behind what it drops, and closes.
  await Promise.race([closed, sleep(3000).then(() => assert.fail(`the server's socket stays open (read ${server.bytesRead} bytes)`))]);
  client.destroy();
});
