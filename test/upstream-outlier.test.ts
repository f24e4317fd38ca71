// Passive health: ejection after consecutive failures, its growing duration, the cap on
// the share of the pool ejected, and the return with slow start. An injected clock
// (the `now` arguments) keeps time out of the tests except for the one about the timer.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LazyDispatcher } from '../src/upstream/lazy-dispatcher.ts';
import { type EndpointState, isAvailable } from '../src/upstream/endpoint.ts';
import type { H1Pool } from '../src/upstream/h1/pool.ts';
import { OutlierDetector } from '../src/upstream/health/outlier.ts';
import { socketState } from '../src/upstream/connector.ts';
import { ReuseGuard } from '../src/upstream/reuse-guard.ts';

function endpoint(address: string): EndpointState {
  const [host, port] = address.split(':') as [string, string];
  return {
    pool: 'test',
    address,
    config: { url: `http://${address}`, protocol: 'http:', host, port: Number(port), weight: 1, backup: false },
    dispatcher: null as unknown as LazyDispatcher,
    client: null as unknown as H1Pool,
    inflight: 0,
    ewmaMs: 12,
    active: 'unknown',
    down: null,
    upSince: 0,
    keepAliveMs: 4000,
    reuse: new ReuseGuard(socketState),
  };
}

function pool(n: number): EndpointState[] {
  return Array.from({ length: n }, (_, i) => endpoint(`10.0.0.${i + 1}:80`));
}

const T0 = 100_000;

/** Read through a call, so the compiler does not carry a narrowing across the detector's calls. */
function downBy(ep: EndpointState): string | null {
  return ep.down?.by ?? null;
}

describe('OutlierDetector', () => {
  test('ejects after consecutive failures, for baseEjectionMs, and says why', () => {
    const eps = pool(4);
    const [ep] = eps as [EndpointState];
    const d = new OutlierDetector(eps, {}, { timers: false });
    const ejected: unknown[] = [];
    d.onEject((e, reason, until, ms) => ejected.push([e.address, reason, until, ms]));
    for (let i = 0; i < 4; i++) d.failure(ep, 'connect', T0 + i, 'connection_refused');
    assert.equal(ep.down, null);
    d.failure(ep, 'connect', T0 + 4, 'connection_refused');
    assert.deepEqual(ep.down, {
      by: 'passive',
      detail: '5 consecutive connect failures (connection_refused)',
      since: T0 + 4,
      until: T0 + 4 + 10_000,
    });
    assert.deepEqual(ejected, [['10.0.0.1:80', '5 consecutive connect failures (connection_refused)', T0 + 10_004, 10_000]]);
    assert.equal(isAvailable(ep, T0 + 5000), false);
    assert.equal(d.ejectedCount, 1);
  });

  test('a success ends the streak', () => {
    const eps = pool(4);
    const [ep] = eps as [EndpointState];
    const d = new OutlierDetector(eps, {}, { timers: false });
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) d.failure(ep, '5xx', T0, 'upstream_503');
      d.success(ep, T0);
    }
    assert.equal(ep.down, null);
  });

  test('names the mix when the failures differ', () => {
    const eps = pool(2);
    const [ep] = eps as [EndpointState];
    const d = new OutlierDetector(eps, { consecutiveFailures: 3 }, { timers: false });
    d.failure(ep, 'timeout', T0);
    d.failure(ep, '5xx', T0, 'upstream_502');
    d.failure(ep, 'timeout', T0, 'response_header_timeout');
    assert.equal(ep.down?.detail, '3 consecutive failures (2 timeout, 1 5xx; last: response_header_timeout)');
  });

  test('returns when the ejection is over: available again, slow-starting, latency to be measured anew', () => {
    const eps = pool(2);
    const [ep] = eps as [EndpointState];
    const d = new OutlierDetector(eps, { consecutiveFailures: 1 }, { timers: false });
    const returned: string[] = [];
    d.onReturn((e) => returned.push(e.address));
    d.failure(ep, 'reset', T0);
    d.sweep(T0 + 9999);
    assert.deepEqual(returned, []);
    d.sweep(T0 + 10_000);
    assert.deepEqual(returned, ['10.0.0.1:80']);
    assert.equal(ep.down, null);
    assert.equal(ep.upSince, T0 + 10_000);
    assert.equal(ep.ewmaMs, null);
    assert.equal(d.ejectedCount, 0);
  });

  test('ignores results of requests that were in flight while it is ejected', () => {
    const eps = pool(2);
    const [ep] = eps as [EndpointState];
    const d = new OutlierDetector(eps, { consecutiveFailures: 2 }, { timers: false });
    let ejections = 0;
    d.onEject(() => ejections++);
    d.failure(ep, 'connect', T0);
    d.failure(ep, 'connect', T0);
    for (let i = 0; i < 5; i++) d.failure(ep, 'connect', T0 + 1);
    d.success(ep, T0 + 2);
    assert.equal(ejections, 1);
    assert.equal(ep.down?.by, 'passive');
  });

  test('each repeated ejection lasts twice as long, up to maxEjectionMs; a long healthy stretch forgives', () => {
    const eps = pool(2);
    const [ep] = eps as [EndpointState];
    const d = new OutlierDetector(eps, { consecutiveFailures: 1, baseEjectionMs: 10_000, maxEjectionMs: 60_000 }, { timers: false });
    const durations: number[] = [];
    d.onEject((_e, _r, _u, ms) => durations.push(ms));
    let t = T0;
    for (let i = 0; i < 5; i++) {
      d.failure(ep, 'connect', t);
      t = (ep.down as { until: number }).until;
      d.sweep(t); // back, and failing again at once
    }
    assert.deepEqual(durations, [10_000, 20_000, 40_000, 60_000, 60_000]);
    // Healthy for as long as the longest ejection: the next one starts from the base again.
    d.success(ep, t + 1);
    d.failure(ep, 'connect', t + 60_000);
    assert.equal(durations.at(-1), 10_000);
  });

  test('never ejects more than maxEjectedPercent of the pool (Envoy semantics: (ejected + 1) / size ≤ max)', () => {
    const eps = pool(4);
    const d = new OutlierDetector(eps, { consecutiveFailures: 1, maxEjectedPercent: 50 }, { timers: false });
    const skipped: string[] = [];
    d.onEjectSkipped((e, reason) => skipped.push(`${e.address}: ${reason}`));
    d.failure(eps[0]!, 'connect', T0);
    d.failure(eps[1]!, 'connect', T0 + 5000);
    d.failure(eps[2]!, 'connect', T0, 'connection_refused');
    d.failure(eps[2]!, 'connect', T0 + 1, 'connection_refused');
    assert.deepEqual(
      eps.map((e) => e.down?.by ?? null),
      ['passive', 'passive', null, null],
    );
    assert.deepEqual(skipped, ['10.0.0.3:80: 1 connect failure (connection_refused)'], 'reported once per streak');
    // Once one is back (the first, ejected 10 s ago), the one still failing can go.
    d.failure(eps[2]!, 'connect', T0 + 10_000);
    assert.equal(eps[2]!.down?.by, 'passive');
    assert.equal(d.ejectedCount, 2);
  });

  test('a pool of one is never ejected at 50%, but is at 100%', () => {
    const [a] = pool(1) as [EndpointState];
    const d50 = new OutlierDetector([a], { consecutiveFailures: 1 }, { timers: false });
    d50.failure(a, 'connect', T0);
    assert.equal(downBy(a), null);
    const d100 = new OutlierDetector([a], { consecutiveFailures: 1, maxEjectedPercent: 100 }, { timers: false });
    d100.failure(a, 'connect', T0);
    assert.equal(downBy(a), 'passive');
  });

  test('leaves an active check verdict in place when the ejection ends', () => {
    const eps = pool(2);
    const [ep] = eps as [EndpointState];
    const d = new OutlierDetector(eps, { consecutiveFailures: 1 }, { timers: false });
    d.failure(ep, 'connect', T0);
    ep.active = 'down';
    ep.down = { by: 'active', detail: 'connect refused', since: T0 + 1 };
    d.sweep(T0 + 10_000);
    assert.deepEqual(ep.down, { by: 'active', detail: 'connect refused', since: T0 + 1 });
  });

  test('an ejection ends on its own timer, and close() leaves no timer behind', { timeout: 5000 }, async () => {
    const eps = pool(2);
    const [a, b] = eps as [EndpointState, EndpointState];
    const d = new OutlierDetector(eps, { consecutiveFailures: 1, baseEjectionMs: 30 });
    const back = new Promise<EndpointState>((resolve) => d.onReturn(resolve));
    d.failure(a, 'timeout', performance.now());
    assert.equal(await back, a);
    assert.equal(a.down, null);
    d.failure(b, 'timeout', performance.now());
    d.close();
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(b.down?.by, 'passive', 'closed: nothing fired');
  });
});
