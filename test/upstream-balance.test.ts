// One contract for every selection policy (as hono runs every router through the same
// cases), then what each policy adds. Randomness comes from a seeded generator, so the
// statistical bounds are checked against the same draws on every run.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type BalancerKind, createBalancer, effectiveWeight, recordLatency } from '../src/upstream/balance/index.ts';
import type { EndpointState } from '../src/upstream/endpoint.ts';
import type { H1Pool } from '../src/upstream/h1/pool.ts';
import type { LazyDispatcher } from '../src/upstream/lazy-dispatcher.ts';
import { socketState } from '../src/upstream/connector.ts';
import { ReuseGuard } from '../src/upstream/reuse-guard.ts';

function endpoint(address: string, opts: { weight?: number; backup?: boolean } = {}): EndpointState {
  const [host, port] = address.split(':') as [string, string];
  return {
    pool: 'test',
    address,
    config: { url: `http://${address}`, protocol: 'http:', host, port: Number(port), weight: opts.weight ?? 1, backup: opts.backup ?? false },
    dispatcher: null as unknown as LazyDispatcher,
    client: null as unknown as H1Pool,
    inflight: 0,
    ewmaMs: null,
    active: 'unknown',
    down: null,
    upSince: 0,
    keepAliveMs: 4000,
    reuse: new ReuseGuard(socketState),
  };
}

/** mulberry32: small, seeded, good enough for load-balancing statistics. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NOW = 1_000_000;

function shares(kind: BalancerKind, eps: readonly EndpointState[], n: number, opts: { slowStartMs?: number; now?: number } = {}) {
  const b = createBalancer(kind, { random: seeded(42), slowStartMs: opts.slowStartMs ?? 0 });
  const counts = new Map<EndpointState, number>(eps.map((e) => [e, 0]));
  for (let i = 0; i < n; i++) {
    const e = b.pick(eps, null, opts.now ?? NOW);
    assert.ok(e);
    counts.set(e, counts.get(e)! + 1);
  }
  return eps.map((e) => counts.get(e)! / n);
}

const KINDS: BalancerKind[] = ['round_robin', 'least_request', 'ewma'];

for (const kind of KINDS) {
  describe(`balancer contract: ${kind}`, () => {
    test('spreads over the available endpoints', () => {
      const eps = [endpoint('10.0.0.1:80'), endpoint('10.0.0.2:80'), endpoint('10.0.0.3:80')];
      for (const s of shares(kind, eps, 3000)) assert.ok(s > 0.28 && s < 0.39, `share ${s}`);
    });

    test('honours weights, roughly', () => {
      const eps = [endpoint('10.0.0.1:80', { weight: 5 }), endpoint('10.0.0.2:80', { weight: 2 }), endpoint('10.0.0.3:80', { weight: 1 })];
      const [a, b, c] = shares(kind, eps, 8000);
      assert.ok(Math.abs(a! - 5 / 8) < 0.04, `weight 5: ${a}`);
      assert.ok(Math.abs(b! - 2 / 8) < 0.04, `weight 2: ${b}`);
      assert.ok(Math.abs(c! - 1 / 8) < 0.04, `weight 1: ${c}`);
    });

    test('skips unavailable and excluded endpoints', () => {
      const down = endpoint('10.0.0.1:80');
      down.active = 'down';
      const ejected = endpoint('10.0.0.2:80');
      ejected.down = { by: 'passive', detail: '5 consecutive connect failures', since: NOW - 1, until: NOW + 10_000 };
      const tried = endpoint('10.0.0.3:80');
      const fresh = endpoint('10.0.0.4:80');
      const b = createBalancer(kind, { random: seeded(1) });
      const exclude = new Set([tried]);
      for (let i = 0; i < 50; i++) assert.equal(b.pick([down, ejected, tried, fresh], exclude, NOW), fresh);
      // An ejection that is over no longer counts.
      const seen = new Set<EndpointState | null>();
      for (let i = 0; i < 50; i++) seen.add(b.pick([down, ejected, tried, fresh], exclude, NOW + 10_000));
      assert.deepEqual(seen, new Set([ejected, fresh]));
    });

    test('uses backups only when every primary is out', () => {
      const p1 = endpoint('10.0.0.1:80');
      const p2 = endpoint('10.0.0.2:80');
      const backup = endpoint('10.0.0.9:80', { backup: true });
      const eps = [backup, p1, p2];
      const b = createBalancer(kind, { random: seeded(2) });
      for (let i = 0; i < 50; i++) assert.notEqual(b.pick(eps, null, NOW), backup);
      p1.active = 'down';
      for (let i = 0; i < 50; i++) assert.equal(b.pick(eps, null, NOW), p2);
      // Out for this request (already tried) counts as out too: the retry goes to the backup.
      assert.equal(b.pick(eps, new Set([p2]), NOW), backup);
      p2.down = { by: 'breaker', detail: 'circuit open', since: NOW, until: NOW + 5000 };
      for (let i = 0; i < 10; i++) assert.equal(b.pick(eps, null, NOW), backup);
    });

    test('returns null when no endpoint is left', () => {
      const a = endpoint('10.0.0.1:80');
      const b = endpoint('10.0.0.2:80', { backup: true });
      const bal = createBalancer(kind, { random: seeded(3) });
      assert.equal(bal.pick([], null, NOW), null);
      assert.equal(bal.pick([a, b], new Set([a, b]), NOW), null);
      a.active = 'down';
      b.down = { by: 'active', detail: 'connect refused', since: NOW };
      assert.equal(bal.pick([a, b], null, NOW), null);
    });

    test('slow start lowers the share of an endpoint that just came back', () => {
      const steady = endpoint('10.0.0.1:80');
      const back = endpoint('10.0.0.2:80');
      back.upSince = NOW - 1000;
      // 1 s into a 10 s ramp: 10% + 90% × 0.1 = 19% of its weight → 0.19 / 1.19 of the picks.
      const [, early] = shares(kind, [steady, back], 4000, { slowStartMs: 10_000 });
      assert.ok(Math.abs(early! - 0.19 / 1.19) < 0.04, `share 1 s after coming back: ${early}`);
      const [, later] = shares(kind, [steady, back], 4000, { slowStartMs: 10_000, now: NOW + 9000 });
      assert.ok(later! > 0.45, `share at the end of the ramp: ${later}`);
      const [, off] = shares(kind, [steady, back], 4000, { slowStartMs: 0 });
      assert.ok(off! > 0.45, `share without slow start: ${off}`);
    });
  });
}

describe('smooth weighted round robin', () => {
  test('interleaves heavy and light endpoints instead of sending bursts, as nginx does', () => {
    const a = endpoint('a:1', { weight: 5 });
    const b = endpoint('b:1');
    const c = endpoint('c:1');
    const bal = createBalancer('round_robin');
    const order = Array.from({ length: 7 }, () => bal.pick([a, b, c], null, NOW)!.address[0]).join('');
    assert.equal(order, 'aabacaa');
  });
});

describe('least_request', () => {
  test('avoids the busy endpoint', () => {
    const idle = endpoint('10.0.0.1:80');
    const busy = endpoint('10.0.0.2:80');
    busy.inflight = 10;
    const b = createBalancer('least_request', { random: seeded(7) });
    for (let i = 0; i < 100; i++) assert.equal(b.pick([busy, idle], null, NOW), idle);
  });

  test('compares load per unit of weight', () => {
    const big = endpoint('10.0.0.1:80', { weight: 4 });
    const small = endpoint('10.0.0.2:80');
    big.inflight = 6; // 1.5 per unit of weight
    small.inflight = 2; // 2 per unit
    const b = createBalancer('least_request', { random: seeded(8) });
    for (let i = 0; i < 100; i++) assert.equal(b.pick([small, big], null, NOW), big);
  });
});

describe('ewma', () => {
  test('avoids the slow endpoint', () => {
    const fast = endpoint('10.0.0.1:80');
    const slow = endpoint('10.0.0.2:80');
    recordLatency(fast, 5);
    recordLatency(slow, 200);
    const b = createBalancer('ewma', { random: seeded(9) });
    for (let i = 0; i < 100; i++) assert.equal(b.pick([slow, fast], null, NOW), fast);
  });

  test('prefers a slower endpoint once the fast one is loaded enough', () => {
    const fast = endpoint('10.0.0.1:80');
    const slow = endpoint('10.0.0.2:80');
    recordLatency(fast, 10);
    recordLatency(slow, 30);
    fast.inflight = 5; // 10 × 6 = 60 > 30 × 1
    const b = createBalancer('ewma', { random: seeded(10) });
    assert.equal(b.pick([fast, slow], null, NOW), slow);
  });

  test('probes an endpoint with no latency yet, as if it were the best known', () => {
    const known = endpoint('10.0.0.1:80');
    const fresh = endpoint('10.0.0.2:80');
    recordLatency(known, 50);
    known.inflight = 1;
    const b = createBalancer('ewma', { random: seeded(11) });
    for (let i = 0; i < 20; i++) assert.equal(b.pick([known, fresh], null, NOW), fresh);
  });

  test('recordLatency: first sample as is, then an exponentially weighted average', () => {
    const e = endpoint('10.0.0.1:80');
    recordLatency(e, 100, 0.5);
    assert.equal(e.ewmaMs, 100);
    recordLatency(e, 200, 0.5);
    assert.equal(e.ewmaMs, 150);
    recordLatency(e, 150);
    assert.equal(e.ewmaMs, 150);
  });
});

test('effectiveWeight ramps linearly from 10% to 100% over slowStartMs', () => {
  const e = endpoint('10.0.0.1:80', { weight: 10 });
  assert.equal(effectiveWeight(e, NOW, 10_000), 10, 'never went down: full weight');
  e.upSince = NOW;
  assert.equal(effectiveWeight(e, NOW, 10_000), 1);
  assert.ok(Math.abs(effectiveWeight(e, NOW + 5000, 10_000) - 5.5) < 1e-9);
  assert.equal(effectiveWeight(e, NOW + 10_000, 10_000), 10);
  assert.equal(effectiveWeight(e, NOW, 0), 10, 'slow start off');
});
