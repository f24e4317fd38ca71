// The gateway's own HTTP/1.1 pool (src/upstream/h1/), against origins that answer byte by
// byte what a test needs: it reuses connections, keeps to its connection limit, reads
// bodies framed every way HTTP/1.1 frames them, skips interim answers, and frames
// uploads the way origins expect.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { type buildConnector, request } from 'undici';
import { loadTlsFixture, TLS_CERT_PATH } from '../src/lab/tls-fixture.ts';
import { readsOwnBuffer, timedConnector } from '../src/upstream/connector.ts';
import { ENDS_PER_TURN as SWEEP_CLOSES_PER_TURN } from '../src/http1/turn-sweep.ts';
import { H1Pool } from '../src/upstream/h1/pool.ts';
import { growthPerTurn } from './helpers/per-turn.ts';
import { startTestGateway, type TestGateway } from './helpers/start-gateway.ts';

const closers: (() => unknown)[] = [];
after(async () => {
  for (const c of closers.reverse()) await c();
});

/** A gateway in front of `port`, with `extra` YAML under the upstream. */
async function gatewayTo(port: number, extra = ''): Promise<TestGateway> {
  const gw = await startTestGateway(`
upstreams: { app: { endpoints: ["http://127.0.0.1:${port}"]${extra} } }
routes: [{ path: /, upstream: app }]
`);
  closers.push(() => gw.stop());
  return gw;
}

/** A raw TCP origin: each request head it reads is answered with what `answer` returns for it. */
async function rawOrigin(answer: (head: string, socket: net.Socket) => string | null): Promise<{ port: number; heads: string[]; connections: () => number }> {
  const heads: string[] = [];
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    connections++;
    sockets.add(s);
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (let i = buf.indexOf('\r\n\r\n'); i >= 0; i = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, i);
        buf = buf.slice(i + 4);
        const length = Number(/^content-length: (\d+)/im.exec(head)?.[1] ?? 0);
        buf = buf.slice(length);
        heads.push(head);
        const out = answer(head, s);
        if (out !== null) s.write(out);
      }
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => server.close(r)));
  closers.push(() => {
    for (const s of sockets) s.destroy();
  });
  return { port: (server.address() as AddressInfo).port, heads, connections: () => connections };
}

async function get(gw: TestGateway, path: string, method = 'GET'): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const r = await request(`${gw.url}${path}`, { method: method as 'GET' });
  return { status: r.statusCode, body: await r.body.text(), headers: r.headers };
}

describe('the gateway’s HTTP/1.1 pool to its origins', () => {
  test('one connection carries request after request, and the log says it was reused', async () => {
    const o = await rawOrigin(() => 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    const gw = await gatewayTo(o.port);
    for (let i = 0; i < 5; i++) assert.equal((await get(gw, `/n${i}`)).body, 'ok');
    assert.equal(o.connections(), 1);
    assert.match(o.heads[0]!, /^connection: keep-alive$/im);
    const r = await request(gw.url, { headers: { 'x-request-id': 'reuse-check-1' } });
    await r.body.text();
    const line = await gw.logFor('reuse-check-1');
    assert.equal((line.timings as { connectMs: number | null }).connectMs, null, 'no connect: a reused connection');
  });

  test('never more connections than keep_alive.max_connections; the rest wait their turn and are answered', async () => {
    let open = 0;
    let most = 0;
    const origin: Server = createServer((_req, res) => {
      setTimeout(() => res.end('done'), 80);
    });
    origin.on('connection', (s) => {
      open++;
      most = Math.max(most, open);
      s.on('close', () => open--);
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => origin.close(r)));
    const gw = await gatewayTo((origin.address() as AddressInfo).port, ', keep_alive: { max_connections: 2 }');
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => get(gw, `/c${i}`)));
    assert.deepEqual(
      answers.map((a) => [a.status, a.body]),
      Array.from({ length: 6 }, () => [200, 'done']),
    );
    assert.equal(most, 2);
  });

  test('bodies framed every way: a length, chunks, or the end of the connection', async () => {
    const o = await rawOrigin((head, s) => {
      if (head.startsWith('GET /chunked')) return 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n';
      if (head.startsWith('GET /until-close')) {
        s.end('HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nto the very end');
        return null;
      }
      return 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfixed';
    });
    const gw = await gatewayTo(o.port);
    assert.equal((await get(gw, '/fixed')).body, 'fixed');
    assert.equal((await get(gw, '/chunked')).body, 'abcde');
    assert.equal((await get(gw, '/until-close')).body, 'to the very end');
    // The connection the origin closed is not used again.
    assert.equal((await get(gw, '/fixed')).body, 'fixed');
  });

  test('interim answers (103 Early Hints) are skipped; a HEAD answer carries no body and the connection goes on', async () => {
    const o = await rawOrigin((head) => {
      if (head.startsWith('HEAD')) return 'HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n';
      return 'HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfinal';
    });
    const gw = await gatewayTo(o.port);
    const hinted = await get(gw, '/hinted');
    assert.equal(hinted.status, 200);
    assert.equal(hinted.body, 'final');
    const head = await get(gw, '/h', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], '10');
    assert.equal((await get(gw, '/after')).body, 'final');
    assert.equal(o.connections(), 1);
  });

  test('an HTTPS origin: verified against its CA, answered whole, one connection for several requests', async () => {
    let handshakes = 0;
    const origin = createHttpsServer(loadTlsFixture(), (req, res) => {
      let n = 0;
      req.on('data', (c: Buffer) => {
        n += c.length;
      });
      req.on('end', () => res.end(`tls ${req.url} ${n}`));
    });
    origin.on('secureConnection', () => handshakes++);
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => origin.close(r)));
    closers.push(() => origin.closeAllConnections());
    const gw = await startTestGateway(`
upstreams:
  app:
    endpoints: ["https://127.0.0.1:${(origin.address() as AddressInfo).port}"]
    tls: { ca: ${TLS_CERT_PATH}, servername: localhost }
routes: [{ path: /, upstream: app }]
`);
    closers.push(() => gw.stop());
    assert.equal((await get(gw, '/a')).body, 'tls /a 0');
    const post = await request(gw.url, { method: 'POST', body: 'y'.repeat(200_000) });
    assert.equal(await post.body.text(), 'tls / 200000');
    assert.equal((await get(gw, '/b')).body, 'tls /b 0');
    assert.equal(handshakes, 1);
  });

  test('idle connections past their keep-alive are closed a few per event-loop turn, not all in one callback', async () => {
    const o = await rawOrigin(() => 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    const sockets: net.Socket[] = [];
    const connect = ((opts: { hostname: string; port: string }, cb: (err: Error | null, s: net.Socket | null) => void) => {
      const s = net.connect(Number(opts.port), opts.hostname);
      sockets.push(s);
      s.once('connect', () => cb(null, s));
      s.once('error', (e) => cb(e, null));
      return s;
    }) as unknown as buildConnector.connector;
    const N = 40;
    const pool = new H1Pool({ url: new URL(`http://127.0.0.1:${o.port}`), connections: N, keepAliveMs: 100, announcedMarginMs: 1000, maxHeaderBytes: 16384, maxResponseBytes: null, connect });
    closers.push(() => pool.destroy());
    const one = () =>
      new Promise<void>((resolve, reject) =>
        pool.dispatch(
          { method: 'GET', path: '/', headers: ['host', 'lab.test'], body: null, headersTimeout: 2000, bodyTimeout: 2000 },
          { onResponseStart() {}, onResponseData() {}, onResponseEnd: () => resolve(), onResponseError: (_c, e) => reject(e) },
        ),
      );
    // N at once: N connections, then all idle together, as after a burst.
    await Promise.all(Array.from({ length: N }, one));
    assert.equal(sockets.length, N);
    assert.equal(sockets.filter((s) => s.destroyed).length, 0);
    // The sweep (every second) finds them expired; each turn of the event loop, how many more were closed.
    const { perTurn, reached: seen } = await growthPerTurn(() => sockets.filter((s) => s.destroyed).length, N, 3000);
    assert.equal(seen, N, 'every expired connection is closed');
    assert.ok(Math.max(...perTurn) <= SWEEP_CLOSES_PER_TURN, `closed per turn: ${perTurn.join(', ')}`);
    assert.ok(perTurn.length >= N / SWEEP_CLOSES_PER_TURN, `closed over several turns: ${perTurn.join(', ')}`);
  });

  test('a connection paused for a slow client when its answer ends reads the next answer', async () => {
    const o = await rawOrigin(() => 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    const connect = ((opts: { hostname: string; port: string }, cb: (err: Error | null, s: net.Socket | null) => void) => {
      const s = net.connect(Number(opts.port), opts.hostname);
      s.once('connect', () => cb(null, s));
      s.once('error', (e) => cb(e, null));
      return s;
    }) as unknown as buildConnector.connector;
    const pool = new H1Pool({ url: new URL(`http://127.0.0.1:${o.port}`), connections: 1, keepAliveMs: 4000, announcedMarginMs: 1000, maxHeaderBytes: 16384, maxResponseBytes: null, connect });
    closers.push(() => pool.destroy());
    // A handler whose client is always slow: it pauses at every chunk, the last one included.
    const fetchOnce = (path: string) =>
      new Promise<string>((resolve, reject) => {
        let body = '';
        pool.dispatch(
          { method: 'GET', path, headers: ['host', 'lab.test'], body: null, headersTimeout: 2000, bodyTimeout: 2000 },
          {
            onResponseData(c, chunk) {
              body += chunk.toString();
              c.pause();
              setTimeout(() => c.resume(), 20);
            },
            onResponseEnd: () => resolve(body),
            onResponseError: (_c, err) => reject(err),
          },
        );
      });
    assert.equal(await fetchOnce('/first'), 'ok');
    assert.equal(await fetchOnce('/second'), 'ok', 'the one connection reads again');
    assert.equal(o.connections(), 1);
  });

  test('bytes an origin sends past its answer never become the answer to the next request', async () => {
    const o = await rawOrigin((head) => {
      if (head.startsWith('GET /first')) return 'HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\noneHTTP/1.1 200 OK\r\ncontent-length: 6\r\nx-smuggled: 1\r\n\r\nSTOLEN';
      return 'HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nsecond';
    });
    // One connection, so the second request waits for the one the first answer frees.
    const gw = await gatewayTo(o.port, ', keep_alive: { max_connections: 1 }');
    const [first, second] = await Promise.all([get(gw, '/first'), new Promise((r) => setTimeout(r, 20)).then(() => get(gw, '/second'))]);
    assert.equal(first.body, 'one');
    assert.equal(second.body, 'second');
    assert.equal(second.headers['x-smuggled'], undefined);
    assert.ok(o.heads.some((h) => h.startsWith('GET /second')), 'the second request reached the origin');
  });

  test('a 101 to a request that did not ask to switch is an explained 502, at once', async () => {
    const o = await rawOrigin(() => 'HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nlater');
    const gw = await gatewayTo(o.port, ', retry: { tries: 1 }');
    const t0 = performance.now();
    const r = await get(gw, '/');
    assert.equal(r.status, 502);
    assert.notEqual(r.body, 'later');
    assert.ok(performance.now() - t0 < 2000);
  });

  test('uploads: a known length goes as Content-Length, an unknown one chunked, an empty POST says content-length: 0', async () => {
    const received: { head: string; body: string }[] = [];
    const origin: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        received.push({ head: JSON.stringify(req.headers), body });
        res.end(`got ${body.length}`);
      });
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => origin.close(r)));
    const gw = await gatewayTo((origin.address() as AddressInfo).port, ', retry: { buffer_body: 1kb }');
    const big = 'x'.repeat(64 * 1024);
    const known = await request(gw.url, { method: 'POST', body: big });
    assert.equal(await known.body.text(), `got ${big.length}`);
    const unknown = await request(gw.url, { method: 'POST', body: Readable.from([Buffer.from('a'.repeat(3000)), Buffer.from('b'.repeat(3000))]) });
    assert.equal(await unknown.body.text(), 'got 6000');
    const empty = await request(gw.url, { method: 'POST' });
    assert.equal(await empty.body.text(), 'got 0');
    assert.match(received[0]!.head, /"content-length":"65536"/);
    assert.match(received[1]!.head, /"transfer-encoding":"chunked"/);
    assert.match(received[2]!.head, /"content-length":"0"/);
  });

  describe('plain TCP read into the connector’s own buffer, Content-Length bodies past llhttp', () => {
    const ownConnector = () => timedConnector({ timeoutMs: 2000, lookup: null, tls: { verify: true, ca: null, servername: null }, ownReads: true });

    /** One request through `pool`, its body's chunks as they came; pauses at each chunk when `slow`. */
    const fetchVia = (pool: H1Pool, path: string, slow = false) =>
      new Promise<{ status: number; chunks: Buffer[] }>((resolve, reject) => {
        const chunks: Buffer[] = [];
        let status = 0;
        pool.dispatch(
          { method: 'GET', path, headers: ['host', 'lab.test'], body: null, headersTimeout: 2000, bodyTimeout: 2000 },
          {
            onResponseStart: (_c, s) => {
              status = s;
            },
            onResponseData(c, chunk) {
              chunks.push(chunk);
              if (!slow) return;
              c.pause();
              setTimeout(() => c.resume(), 15);
            },
            onResponseEnd: () => resolve({ status, chunks }),
            onResponseError: (_c, err) => reject(err),
          },
        );
      });

    test('the connector gives plain TCP sockets own reads, and a small body comes as a slice of Node’s buffer pool, not an ArrayBuffer of its own', async () => {
      const o = await rawOrigin(() => 'HTTP/1.1 200 OK\r\ncontent-length: 150\r\n\r\n' + 'b'.repeat(150));
      const connect = ownConnector();
      const socket = await new Promise<net.Socket>((resolve, reject) =>
        connect({ hostname: '127.0.0.1', host: `127.0.0.1:${o.port}`, protocol: 'http:', port: String(o.port), servername: null, localAddress: null } as never, (err, s) =>
          err ? reject(err) : resolve(s as net.Socket),
        ),
      );
      assert.equal(readsOwnBuffer(socket), true);
      socket.destroy();
      const pool = new H1Pool({ url: new URL(`http://127.0.0.1:${o.port}`), connections: 1, keepAliveMs: 4000, announcedMarginMs: 1000, maxHeaderBytes: 16384, maxResponseBytes: null, connect });
      closers.push(() => pool.destroy());
      const r = await fetchVia(pool, '/small');
      assert.equal(Buffer.concat(r.chunks).toString(), 'b'.repeat(150));
      // llhttp's own body chunks are each an ArrayBuffer exactly their size, freed by V8 only in a scavenge.
      assert.equal(r.chunks.length, 1);
      assert.ok(r.chunks[0]!.buffer.byteLength > 150, `a pooled slice (its ArrayBuffer is ${r.chunks[0]!.buffer.byteLength} bytes)`);
    });

    test('a body in several reads, a 204 that announces a length, requests queued on the one connection, a slow client: each answer whole, one connection', async () => {
      let n = 0;
      const o = await rawOrigin((head, s) => {
        if (head.startsWith('GET /pieces')) {
          s.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nab');
          setTimeout(() => s.write('cdefgh'), 20);
          setTimeout(() => s.write('ij'), 40);
          return null;
        }
        // A 204's body is empty whatever its Content-Length says (RFC 9110 §8.6).
        if (head.startsWith('GET /none')) return 'HTTP/1.1 204 No Content\r\ncontent-length: 5\r\n\r\n';
        if (head.startsWith('GET /big')) return `HTTP/1.1 200 OK\r\ncontent-length: ${300 * 1024}\r\n\r\n${'z'.repeat(300 * 1024)}`;
        return `HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\n${String(n++).padStart(3, '0')}`;
      });
      const pool = new H1Pool({ url: new URL(`http://127.0.0.1:${o.port}`), connections: 1, keepAliveMs: 4000, announcedMarginMs: 1000, maxHeaderBytes: 16384, maxResponseBytes: null, connect: ownConnector() });
      closers.push(() => pool.destroy());
      const pieces = await fetchVia(pool, '/pieces');
      assert.equal(Buffer.concat(pieces.chunks).toString(), 'abcdefghij');
      assert.ok(pieces.chunks.length >= 2, 'the body came in more than one read');
      const none = await fetchVia(pool, '/none');
      assert.equal(none.status, 204);
      assert.equal(none.chunks.length, 0);
      const [a, b, c] = await Promise.all([fetchVia(pool, '/1'), fetchVia(pool, '/2'), fetchVia(pool, '/3')]);
      assert.deepEqual([a, b, c].map((r) => Buffer.concat(r.chunks).toString()), ['000', '001', '002']);
      const big = await fetchVia(pool, '/big', true);
      assert.equal(Buffer.concat(big.chunks).toString(), 'z'.repeat(300 * 1024));
      assert.ok(big.chunks.length > 1, 'the slow client paused the reading between chunks');
      assert.equal(Buffer.concat((await fetchVia(pool, '/after')).chunks).toString(), '003');
      assert.equal(o.connections(), 1);
    });

    test('a body the origin cuts short is an error, never a shorter answer; the next request gets a new connection', async () => {
      const o = await rawOrigin((head, s) => {
        if (head.startsWith('GET /cut')) {
          s.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc');
          setTimeout(() => s.end(), 20);
          return null;
        }
        return 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok';
      });
      const pool = new H1Pool({ url: new URL(`http://127.0.0.1:${o.port}`), connections: 1, keepAliveMs: 4000, announcedMarginMs: 1000, maxHeaderBytes: 16384, maxResponseBytes: null, connect: ownConnector() });
      closers.push(() => pool.destroy());
      await assert.rejects(fetchVia(pool, '/cut'), /other side closed/);
      assert.equal(Buffer.concat((await fetchVia(pool, '/next')).chunks).toString(), 'ok');
      assert.equal(o.connections(), 2);
    });

    test('after a body read past llhttp, bad bytes are still refused: a malformed answer fails at once, garbage after a body ends its connection', async () => {
      const o = await rawOrigin((head) => {
        if (head.startsWith('GET /bad')) return 'HTTP/1.1 abc\r\nfoo\r\n\r\n';
        if (head.startsWith('GET /garbage')) return 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokXYZ garbage\r\n\r\n';
        return 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok';
      });
      const pool = new H1Pool({ url: new URL(`http://127.0.0.1:${o.port}`), connections: 1, keepAliveMs: 4000, announcedMarginMs: 1000, maxHeaderBytes: 16384, maxResponseBytes: null, connect: ownConnector() });
      closers.push(() => pool.destroy());
      assert.equal(Buffer.concat((await fetchVia(pool, '/first')).chunks).toString(), 'ok');
      const t0 = performance.now();
      // llhttp's own error, not the 2 s wait for a head that would never be parsed.
      await assert.rejects(fetchVia(pool, '/bad'), (err: Error & { code?: string }) => err.code === 'HPE_INVALID_STATUS');
      assert.ok(performance.now() - t0 < 1000);
      assert.equal(Buffer.concat((await fetchVia(pool, '/garbage')).chunks).toString(), 'ok');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(Buffer.concat((await fetchVia(pool, '/after')).chunks).toString(), 'ok', 'answered on a new connection');
      assert.equal(o.connections(), 3, 'the malformed answer and the garbage each ended their connection');
    });

    test('a body past max_response_body_bytes ends the exchange, read here as by llhttp', async () => {
      const o = await rawOrigin(() => `HTTP/1.1 200 OK\r\ncontent-length: 5000\r\n\r\n${'q'.repeat(5000)}`);
      const pool = new H1Pool({ url: new URL(`http://127.0.0.1:${o.port}`), connections: 1, keepAliveMs: 4000, announcedMarginMs: 1000, maxHeaderBytes: 16384, maxResponseBytes: 1000, connect: ownConnector() });
      closers.push(() => pool.destroy());
      await assert.rejects(fetchVia(pool, '/'), (err: Error & { code?: string }) => err.code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE');
    });
  });
});
