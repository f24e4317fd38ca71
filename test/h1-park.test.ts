// Idle keep-alive connections give their llhttp parser back (src/server/h1/connection.ts,
// PARK_AFTER_MS) and take one when bytes arrive again: a parser is ~6 KB outside V8's heap,
// so 1,000 slow clients should not hold 1,000 of them. Whatever the parser state, every
// request is answered whole and in order.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { test } from 'node:test';
import tls from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { requestParsersHeld } from '../src/http1/llhttp.ts';
import { loadTlsFixture } from '../src/lab/tls-fixture.ts';
import { PARK_AFTER_MS } from '../src/server/h1/connection.ts';
import { createH1Server, type H1Server } from '../src/server/h1/server.ts';

const limits = { headersTimeoutMs: 5000, requestTimeoutMs: 5000, keepAliveTimeoutMs: 10_000, maxHeaderBytes: 16 * 1024 };

/** Answers `METHOD URL n=<x-n> body=<the body>`. */
async function echoServer(tlsOptions: tls.TlsOptions | null): Promise<{ h1: H1Server; port: number }> {
  const h1 = createH1Server(tlsOptions, limits, {
    request: (req, res) => {
      const n = req.rawHeaders[req.rawHeaders.findIndex((h) => h.toLowerCase() === 'x-n') + 1];
      const parts: Buffer[] = [];
      const answer = () => {
        const text = `${req.method} ${req.url} n=${n} body=${Buffer.concat(parts).toString()}`;
        res.writeHead(200, ['content-length', String(Buffer.byteLength(text))]);
        res.end(text);
      };
      if (req.method === 'POST') {
        req.body.on('data', (c: Buffer) => parts.push(c));
        req.body.on('end', answer);
      } else answer();
    },
    upgrade: (_req, socket) => socket.destroy(),
    clientError: (_err, socket) => socket.destroy(),
  });
  h1.server.listen(0, '127.0.0.1');
  await once(h1.server, 'listening');
  return { h1, port: (h1.server.address() as AddressInfo).port };
}

/** A client socket that collects the bodies of Content-Length responses, in order. */
class Client {
  readonly bodies: string[] = [];
  readonly socket: net.Socket;
  private buf = '';
  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buf += d;
      for (;;) {
        const end = this.buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const len = Number(/content-length: (\d+)/i.exec(this.buf.slice(0, end))?.[1]);
        if (this.buf.length < end + 4 + len) return;
        assert.match(this.buf, /^HTTP\/1\.1 200 /);
        this.bodies.push(this.buf.slice(end + 4, end + 4 + len));
        this.buf = this.buf.slice(end + 4 + len);
      }
    });
  }
  async until(count: number): Promise<void> {
    const deadline = performance.now() + 3000;
    while (this.bodies.length < count) {
      if (performance.now() > deadline) assert.fail(`${this.bodies.length} answers of ${count}: ${JSON.stringify(this.bodies)}`);
      await sleep(5);
    }
  }
}

async function untilHeld(n: number): Promise<number> {
  const deadline = performance.now() + 3000;
  while (requestParsersHeld() !== n && performance.now() < deadline) await sleep(10);
  return requestParsersHeld();
}

const get = (path: string, n: number) => `GET ${path} HTTP/1.1\r\nHost: t\r\nX-N: ${n}\r\n\r\n`;

type Connect = (port: number) => Promise<net.Socket>;
type TestContext = { after(fn: () => void): void };

const plain: Connect = async (port) => {
  const s = net.connect(port, '127.0.0.1');
  await once(s, 'connect');
  return s;
};

/** An echo server and `n` clients connected to it (nothing sent yet), closed when the test ends; `before`: parsers held once earlier tests' connections closed. */
async function connected(t: TestContext, n: number, connect: Connect, tlsOptions: tls.TlsOptions | null): Promise<{ clients: Client[]; before: number }> {
  const { h1, port } = await echoServer(tlsOptions);
  const clients: Client[] = [];
  t.after(() => {
    for (const c of clients) c.socket.destroy();
    h1.server.close();
  });
  const before = await untilHeld(0);
  for (let i = 0; i < n; i++) clients.push(new Client(await connect(port)));
  return { clients, before };
}

async function parkAndWake(t: TestContext, connect: Connect, tlsOptions: tls.TlsOptions | null) {
  const { clients, before } = await connected(t, 20, connect, tlsOptions);
  // Connected, nothing sent: no parser yet.
  assert.equal(requestParsersHeld(), before, 'a connection that has sent nothing holds no parser');
  for (const [i, c] of clients.entries()) c.socket.write(get(`/first/${i}`, i));
  await Promise.all(clients.map((c) => c.until(1)));
  assert.ok(requestParsersHeld() > before, 'connections that were just answered still hold their parsers');
  assert.equal(await untilHeld(before), before, 'idle connections gave their parsers back');

  // Woken by a head that arrives in pieces, cut inside a field, then a POST and a GET
  // pipelined behind it in one write: every answer whole, in order.
  for (const [i, c] of clients.entries()) c.socket.write(`GET /second/${i} HTTP/1.1\r\nHo`);
  await sleep(20);
  for (const [i, c] of clients.entries()) c.socket.write(`st: t\r\nX-N: ${i}\r`);
  await sleep(20);
  for (const [i, c] of clients.entries()) c.socket.write(`\n\r\nPOST /third HTTP/1.1\r\nHost: t\r\nX-N: ${i}\r\nContent-Length: 5\r\n\r\nhello${get('/fourth', i)}`);
  await Promise.all(clients.map((c) => c.until(4)));
  for (const [i, c] of clients.entries()) {
    assert.deepEqual(c.bodies, [`GET /first/${i} n=${i} body=`, `GET /second/${i} n=${i} body=`, `POST /third n=${i} body=hello`, `GET /fourth n=${i} body=`]);
  }
  // Parked again, and woken again by a plain request.
  assert.equal(await untilHeld(before), before, 'idle again: parsers given back again');
  for (const [i, c] of clients.entries()) c.socket.write(get(`/fifth/${i}`, i));
  await Promise.all(clients.map((c) => c.until(5)));
  for (const [i, c] of clients.entries()) assert.equal(c.bodies[4], `GET /fifth/${i} n=${i} body=`);
}

test('idle keep-alive connections give their parsers back and take one when bytes arrive, every request answered in order', async (t) => {
  await parkAndWake(t, plain, null);
});

test('over TLS too (the parser is fed what the TLS socket reads)', async (t) => {
  const { cert, key } = loadTlsFixture();
  await parkAndWake(
    t,
    async (port) => {
      const s = tls.connect({ port, host: '127.0.0.1', ca: cert, servername: 'localhost' });
      await once(s, 'secureConnect');
      return s;
    },
    { cert, key },
  );
});

test('in an otherwise idle event loop every idle connection gives its parser back within a few sweeps, not 4 per timer wake-up', async (t) => {
  const N = 40;
  const { clients, before } = await connected(t, N, plain, null);
  for (const [i, c] of clients.entries()) c.socket.write(get(`/${i}`, i));
  await Promise.all(clients.map((c) => c.until(1)));
  assert.equal(requestParsersHeld(), before + N);
  // One timer, nothing polling meanwhile: giving a parser back makes no I/O, so only the
  // server's sweep (every PARK_AFTER_MS) wakes the loop. Parked within two sweeps of going
  // idle, the rest of a sweep in the turns right after; a sweep stuck at 4 a wake-up would
  // have given back ~20 of the 40 by then.
  await sleep(5 * PARK_AFTER_MS);
  assert.equal(requestParsersHeld(), before, 'every idle connection gave its parser back');
});
