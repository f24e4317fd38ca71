// Active health checks against the lab's real origins on loopback: what each failure
// looks like in `ep.down.detail`, rise and fall, and that stop() leaves nothing running.
import assert from 'node:assert/strict';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { type FaultOptions, type RunningOrigin, startOrigin } from '../src/lab/origin.ts';
import { type EndpointState, isAvailable } from '../src/upstream/endpoint.ts';
import { ActiveHealthChecker, type ActiveHealthOptions } from '../src/upstream/health/active.ts';
import { socketState } from '../src/upstream/connector.ts';
import type { H1Pool } from '../src/upstream/h1/pool.ts';
import { LazyDispatcher } from '../src/upstream/lazy-dispatcher.ts';
import { ReuseGuard } from '../src/upstream/reuse-guard.ts';

const toClose: { close(): Promise<unknown> }[] = [];
after(async () => {
  await Promise.all(toClose.map((c) => c.close()));
});

async function origin(opts: FaultOptions): Promise<RunningOrigin> {
  const o = await startOrigin(opts);
  toClose.push(o);
  return o;
}

function endpointOf(o: RunningOrigin): EndpointState {
  const dispatcher = new Pool(o.url, { connections: 2 });
  toClose.push(dispatcher);
  return {
    pool: 'test',
    address: `${o.host}:${o.port}`,
    config: { url: o.url, protocol: 'http:', host: o.host, port: o.port, weight: 1, backup: false },
    dispatcher: new LazyDispatcher(() => dispatcher),
    // Health checks use undici's pool only.
    client: null as unknown as H1Pool,
    inflight: 0,
    ewmaMs: 25,
    active: 'unknown',
    down: null,
    upSince: 0,
    keepAliveMs: 4000,
    reuse: new ReuseGuard(socketState),
  };
}

function checker(eps: EndpointState[], opts: Partial<ActiveHealthOptions> = {}) {
  const c = new ActiveHealthChecker(eps, { path: '/healthz', timeoutMs: 500, ...opts });
  toClose.push({ close: () => c.stop() });
  const events: string[] = [];
  c.onDown((ep, detail) => events.push(`down ${ep.address}: ${detail}`));
  c.onUp((ep) => events.push(`up ${ep.address}`));
  return { c, events };
}

describe('ActiveHealthChecker (http)', () => {
  test('a healthy origin is up after its first check', async () => {
    const o = await origin({ fault: 'healthy' });
    const ep = endpointOf(o);
    const { c, events } = checker([ep]);
    await c.checkNow();
    assert.equal(ep.active, 'up');
    assert.equal(ep.down, null);
    assert.equal(ep.upSince, 0, 'it was never out, so no slow start');
    assert.deepEqual(events, [`up ${ep.address}`]);
    assert.equal(o.stats.requests, 1);
  });

  test('an offline origin is down at its first check: connect refused', async () => {
    const o = await origin({ fault: 'offline' });
    const ep = endpointOf(o);
    const { c, events } = checker([ep]);
    const t = performance.now();
    await c.checkNow();
    assert.equal(ep.active, 'down');
    assert.equal(ep.down?.by, 'active');
    assert.equal(ep.down.detail, 'connect refused');
    assert.ok(ep.down.since >= t);
    assert.equal(isAvailable(ep, performance.now()), false);
    assert.deepEqual(events, [`down ${ep.address}: connect refused`]);
  });

  test('an unexpected status counts as a failure, with the status in the detail', async () => {
    const o = await origin({ fault: 'healthy' });
    const ep = endpointOf(o);
    const { c } = checker([ep], { path: '/status/503' });
    await c.checkNow();
    assert.equal(ep.down?.detail, 'GET /status/503: 503');
    const ok = checker([endpointOf(o)], { path: '/status/503', expectStatus: [200, 503] });
    await ok.c.checkNow();
    assert.deepEqual(ok.events.length, 1);
    assert.match(ok.events[0]!, /^up /);
  });

  test('a crash takes it down after `fall` failures; a restart brings it back after `rise`, slow-starting', async () => {
    const o = await origin({ fault: 'healthy' });
    const ep = endpointOf(o);
    const { c, events } = checker([ep], { fall: 2, rise: 2 });
    await c.checkNow();
    assert.equal(ep.active, 'up');

    await o.stop();
    await c.checkNow();
    assert.equal(ep.active, 'up', 'one failure is not enough');
    await c.checkNow();
    assert.equal(ep.active, 'down');
    assert.equal(ep.down?.detail, 'connect refused');

    await o.start();
    await c.checkNow();
    assert.equal(ep.active, 'down', 'one success is not enough');
    const before = performance.now();
    await c.checkNow();
    assert.equal(ep.active, 'up');
    assert.equal(ep.down, null);
    assert.ok(ep.upSince >= before, 'upSince set for slow start');
    assert.equal(ep.ewmaMs, null, 'latency from before the outage forgotten');
    assert.deepEqual(events, [`up ${ep.address}`, `down ${ep.address}: connect refused`, `up ${ep.address}`]);
  });

  test('a blackhole times out after timeoutMs', async () => {
    const o = await origin({ fault: 'blackhole' });
    const ep = endpointOf(o);
    const { c } = checker([ep], { timeoutMs: 200 });
    const t = performance.now();
    await c.checkNow();
    const took = performance.now() - t;
    assert.equal(ep.down?.detail, 'timed out after 200 ms');
    assert.ok(took >= 190 && took < 1500, `took ${took} ms`);
  });

  test('sends the configured Host header and says who it is', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const server = http.createServer((req, res) => {
      seen.push(req.headers);
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    toClose.push({ close: () => new Promise((resolve) => server.close(resolve)) });
    const { port } = server.address() as AddressInfo;
    const ep = endpointOf({ host: '127.0.0.1', port, url: `http://127.0.0.1:${port}` } as RunningOrigin);
    const { c } = checker([ep], { host: 'health.example' });
    await c.checkNow();
    assert.equal(ep.active, 'up');
    assert.equal(seen[0]?.host, 'health.example');
    assert.equal(seen[0]?.['user-agent'], 'gatewise-health-check');
    server.closeAllConnections();
  });
});

describe('ActiveHealthChecker (tcp)', () => {
  test('up when the port accepts, down with connect refused when not', async () => {
    const up = endpointOf(await origin({ fault: 'healthy' }));
    const off = endpointOf(await origin({ fault: 'offline' }));
    const { c } = checker([up, off], { type: 'tcp' });
    await c.checkNow();
    assert.equal(up.active, 'up');
    assert.equal(off.active, 'down');
    assert.equal(off.down?.detail, 'connect refused');
  });

  test('a blackhole times out', async () => {
    const ep = endpointOf(await origin({ fault: 'blackhole' }));
    const { c } = checker([ep], { type: 'tcp', timeoutMs: 150 });
    await c.checkNow();
    assert.equal(ep.down?.detail, 'timed out after 150 ms');
  });
});

describe('ActiveHealthChecker timers', () => {
  test('checks periodically once started, and not at all after stop()', { timeout: 5000 }, async () => {
    const o = await origin({ fault: 'healthy' });
    const ep = endpointOf(o);
    const { c } = checker([ep], { intervalMs: 20, jitter: 0.1 });
    const firstUp = new Promise<void>((resolve) => c.onUp(() => resolve()));
    c.start();
    await firstUp;
    await sleep(100);
    await c.stop();
    // A check stop() cut short may already have been written: let it land before counting.
    await sleep(30);
    const seen = o.stats.requests;
    assert.ok(seen >= 2, `only ${seen} checks in ~100 ms at a 20 ms interval`);
    await sleep(80);
    assert.equal(o.stats.requests, seen, 'no check after stop()');
  });

  test('stop() cuts a check in flight short and leaves the state alone', async () => {
    const ep = endpointOf(await origin({ fault: 'blackhole' }));
    const { c, events } = checker([ep], { intervalMs: 10_000, jitter: 0, timeoutMs: 5000 });
    c.start();
    await sleep(50);
    const t = performance.now();
    await c.stop();
    assert.ok(performance.now() - t < 1000, 'stop() waited for the check to time out');
    assert.equal(ep.active, 'unknown');
    assert.deepEqual(events, []);
  });
});
