// The keep-alive race without unsafe retries: a request that must not be sent twice (a
// POST) is never written on a pooled connection idle longer than reuse has proven safe.
// The origin here makes the race deterministic: a request that arrives on a reused
// connection idle longer than `closeAfterMs` is dropped with the connection, unanswered,
// as when the origin's idle timer fires just as the request comes in.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { REUSE_FLOOR_MS, REUSE_MARGIN, ReuseGuard, type SocketState } from '../src/upstream/reuse-guard.ts';
import { send } from './helpers/client.ts';
import { startTestGateway, type TestGateway } from './helpers/start-gateway.ts';

type RaceOrigin = { url: string; connections: () => number; dropped: () => number; close: () => Promise<void> };

async function raceOrigin(closeAfterMs: number): Promise<RaceOrigin> {
  const lastAnswer = new WeakMap<Socket, number>();
  let connections = 0;
  let dropped = 0;
  // keepAliveTimeout 0: no idle timer and no `Keep-Alive: timeout=` announced; its only
  // close is the dropped request below, an origin that closes without saying so.
  const server = http.createServer({ keepAliveTimeout: 0 }, (req, res) => {
    const since = lastAnswer.get(req.socket);
    if (since !== undefined && performance.now() - since > closeAfterMs) {
      dropped++;
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.once('finish', () => lastAnswer.set(req.socket, performance.now()));
      res.end(`${req.method} ${Buffer.concat(chunks).length}`);
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    dropped: () => dropped,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const cleanup: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

/** A gateway with one upstream, `url`, for every path; stopped after the tests. */
async function gatewayTo(url: string): Promise<TestGateway> {
  const gw = await startTestGateway(`
upstreams:
  app: { endpoints: ["${url}"] }
routes:
  - { path: /, upstream: app }
`);
  cleanup.push(() => gw.stop(100));
  return gw;
}

async function setup(closeAfterMs: number): Promise<{ origin: RaceOrigin; gw: TestGateway }> {
  const origin = await raceOrigin(closeAfterMs);
  cleanup.push(origin.close);
  return { origin, gw: await gatewayTo(origin.url) };
}

const post = (url: string, id: string) => send(`${url}/echo`, { method: 'POST', body: 'x'.repeat(256), headers: { 'x-request-id': id } });
const get = (url: string, id: string) => send(`${url}/`, { headers: { 'x-request-id': id } });
const statusOf = (r: Awaited<ReturnType<typeof send>>) => (r.ok ? r.status : r.code);

describe('a POST is never written on a connection idle longer than reuse has proven safe', { concurrency: false }, () => {
  test('the origin drops a request on a connection idle 100 ms: a POST after 300 ms idle gets a fresh connection and its answer', async () => {
    const { origin, gw } = await setup(100);
    assert.equal(statusOf(await get(gw.url, 'g1')), 200);
    await sleep(300);
    const r = await post(gw.url, 'p1');
    assert.equal(statusOf(r), 200, JSON.stringify(await gw.logFor('p1')));
    assert.equal(origin.dropped(), 0, 'the POST was never written on the stale connection');
    assert.equal(origin.connections(), 2);
    // Closing an idle connection ourselves teaches nothing about the origin's keep-alive.
    await sleep(50);
    assert.deepEqual(
      gw.events.filter((e) => /keep-alive lowered/.test(String(e['msg']))),
      [],
    );
    // A GET after the same idle is written on the pooled connection and retried when it is dropped.
    await sleep(300);
    assert.equal(statusOf(await get(gw.url, 'g2')), 200);
    assert.equal(origin.dropped(), 1);
  });

  test('a POST reuses a connection idle within the floor, or within the gap an answer proved safe; not beyond', async () => {
    const { origin, gw } = await setup(60_000);
    assert.equal(statusOf(await get(gw.url, 'a')), 200);
    await sleep(20);
    assert.equal(statusOf(await post(gw.url, 'b')), 200);
    assert.equal(origin.connections(), 1, `idle 20 ms < ${REUSE_FLOOR_MS} ms: reused`);
    await sleep(800);
    assert.equal(statusOf(await get(gw.url, 'c')), 200);
    assert.equal(origin.connections(), 1, 'a GET reuses any pooled connection');
    // That answer proved 800 ms: 600 ms is trusted now.
    await sleep(350);
    assert.equal(statusOf(await post(gw.url, 'd')), 200);
    assert.equal(origin.connections(), 1, 'idle 350 ms, within what was proven: reused');
    await sleep(900);
    assert.equal(statusOf(await post(gw.url, 'e')), 200);
    assert.equal(origin.connections(), 2, 'idle 900 ms, beyond what was proven: a fresh connection');
    assert.equal(origin.dropped(), 0);
  });
});

describe('an origin that announces its keep-alive (Keep-Alive: timeout=N) is taken at its word', { concurrency: false }, () => {
  /** A Node origin: announces timeout=keepAliveMs/1000 and honours it. Counts connections. */
  async function announcing(keepAliveMs: number): Promise<{ url: string; connections: () => number }> {
    let connections = 0;
    const server = http.createServer({ keepAliveTimeout: keepAliveMs }, (req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    server.on('connection', () => connections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(
      () =>
        new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
    );
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections };
  }

  test('POSTs 400 ms apart to an origin that keeps idle connections 5 s share one connection', async () => {
    const origin = await announcing(5000);
    const gw = await gatewayTo(origin.url);
    for (let i = 0; i < 4; i++) {
      assert.equal(statusOf(await post(gw.url, `ka-${i}`)), 200);
      await sleep(400);
    }
    assert.equal(origin.connections(), 1, `idle 400 ms is well within the 5 s announced (less 1 s): reused, not ${REUSE_FLOOR_MS} ms`);
  });

  test('the gateway giving up a connection at the announced limit is not taken for the origin closing it', async () => {
    const origin = await announcing(2000);
    const gw = await gatewayTo(origin.url);
    assert.equal(statusOf(await get(gw.url, 'ka-a')), 200);
    // undici gives the connection up after 2 s − 1 s of idle, well before keep_alive.idle (4 s).
    await sleep(1400);
    assert.equal(statusOf(await get(gw.url, 'ka-b')), 200);
    assert.equal(origin.connections(), 2);
    assert.deepEqual(
      gw.events.filter((e) => /keep-alive lowered/.test(String(e['msg']))).map((e) => e['msg']),
      [],
    );
  });
});

describe('ReuseGuard', () => {
  const fake = (idle: Map<object, number>, retired: object[], promised = new Map<object, number>()): SocketState => ({
    idleSince: (s) => idle.get(s) ?? null,
    promisedIdleMs: (s) => promised.get(s) ?? null,
    retire: (s) => {
      retired.push(s);
      idle.delete(s);
    },
  });

  test('trusts the floor, then the margin of the longest answered gap, capped by the keep-alive; a close lowers it', () => {
    const g = new ReuseGuard(fake(new Map(), []));
    assert.equal(g.safeIdleMs(4000), REUSE_FLOOR_MS);
    g.answeredAfterIdle(2000);
    assert.equal(g.safeIdleMs(4000), 2000 * REUSE_MARGIN);
    assert.equal(g.safeIdleMs(1000), 1000, 'never beyond the keep-alive limit');
    g.answeredAfterIdle(500);
    assert.equal(g.provenIdleMs, 2000, 'the longest gap counts');
    g.closedAfterIdle(1200);
    assert.equal(g.safeIdleMs(4000), 1200 * REUSE_MARGIN * REUSE_MARGIN);
  });

  test('retires only idle sockets idle longer than the safe limit', () => {
    const idle = new Map<object, number>();
    const retired: object[] = [];
    const g = new ReuseGuard(fake(idle, retired));
    const [a, b, c] = [new EventEmitter(), new EventEmitter(), new EventEmitter()] as unknown as Socket[];
    for (const s of [a!, b!, c!]) g.add(s);
    idle.set(a!, 0);
    idle.set(b!, 900);
    // c is busy: no idle time
    assert.equal(g.retireIdle(4000, 1000), 1);
    assert.deepEqual(retired, [a]);
    (b as unknown as { emit: (e: string) => void }).emit('close');
    assert.equal(g.size, 2);
  });
  test('keeps a connection within what its origin announced (Keep-Alive: timeout=), less the margin, until the origin breaks such a promise', () => {
    const idle = new Map<object, number>();
    const promised = new Map<object, number>();
    const retired: object[] = [];
    const g = new ReuseGuard(fake(idle, retired, promised));
    const [a, b] = [new EventEmitter(), new EventEmitter()] as unknown as Socket[];
    g.add(a!);
    g.add(b!);
    promised.set(a!, 5000);
    promised.set(b!, 5000);
    idle.set(a!, 7000); // idle 3,000 ms at now = 10,000: within 5,000 − 1,000
    idle.set(b!, 5500); // idle 4,500 ms: past it
    assert.equal(g.retireIdle(60_000, 10_000), 1);
    assert.deepEqual(retired, [b]);
    g.closedAfterIdle(2000);
    assert.equal(g.retireIdle(60_000, 10_000), 1, 'an origin that closed early is no longer taken at its word');
    assert.deepEqual(retired, [b, a]);
  });
});
