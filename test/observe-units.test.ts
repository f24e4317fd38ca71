// The arithmetic under the dashboard and the alerts, on a fake clock.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Alerts } from '../src/config/schema.ts';
import type { Alert } from '../src/observe/alerts/alert.ts';
import { Alerter } from '../src/observe/alerts/alerter.ts';
import { burnRate, SloCounts } from '../src/observe/alerts/slo.ts';
import type { RequestEndEvent } from '../src/observe/events.ts';
import { EndpointTracker } from '../src/observe/endpoints.ts';
import { Ring } from '../src/observe/ring.ts';
import { pct, Timeline } from '../src/observe/timeline.ts';
import pino from 'pino';

const quiet = pino({ level: 'silent' });

function req(over: Partial<RequestEndEvent> = {}): RequestEndEvent {
  return {
    route: 'shop',
    pool: 'app',
    method: 'GET',
    status: 200,
    durationMs: 10,
    attempts: 1,
    upstream: '10.0.0.7:8080',
    errorType: null,
    errorDetail: null,
    errorMessage: null,
    requestId: 'r1',
    time: new Date(),
    cache: null,
    ...over,
  };
}

test('a ring keeps the newest items, oldest first', () => {
  const r = new Ring<number>(3);
  for (let i = 1; i <= 5; i++) r.push(i);
  assert.deepEqual(r.toArray(), [3, 4, 5]);
  assert.equal(r.last(), 5);
  assert.equal(r.size, 3);
});

test('percentiles by nearest rank', () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(pct(xs, 0.5), 50);
  assert.equal(pct(xs, 0.95), 95);
  assert.equal(pct(xs, 0.99), 99);
  assert.equal(pct([], 0.5), null);
});

describe('SLO counts and burn rate', () => {
  test('windows sum whole seconds, and old laps of the ring are ignored', () => {
    const c = new SloCounts(10_000);
    const t0 = 1_000_000_000;
    for (let s = 0; s < 10; s++) c.add(t0 + s * 1000, s >= 8, false);
    assert.deepEqual(c.sum(2_000, t0 + 9_000), { total: 2, bad: 2, slow: 0 });
    assert.deepEqual(c.sum(10_000, t0 + 9_000), { total: 10, bad: 2, slow: 0 });
    // 30 s later, nothing of that lap is in any window.
    assert.deepEqual(c.sum(10_000, t0 + 39_000), { total: 0, bad: 0, slow: 0 });
  });

  test('burn rate is the error share over the budget', () => {
    assert.equal(burnRate(0, 0, 0.999), 0);
    assert.ok(Math.abs(burnRate(144, 10_000, 0.999) - 14.4) < 1e-9);
    assert.ok(Math.abs(burnRate(10, 10, 0.9) - 10) < 1e-9);
  });
});

describe('the alerter on a fake clock', () => {
  const alerts: Alerts = {
    webhooks: [],
    slo: [{ route: 'shop', availability: 0.99, latency: { thresholdMs: 100, target: 0.9 } }],
    windows: [{ longMs: 60_000, shortMs: 5_000, burnRate: 10 }],
    certificateDays: 14,
    endpointDownAfterMs: 30_000,
    masked: { threshold: 5, windowMs: 10_000 },
  };
  const setup = () => {
    let now = 1_800_000_000_000;
    const sent: Alert[] = [];
    const a = new Alerter({ alerts, name: 'gw', events: quiet, deliver: (x) => sent.push(x), now: () => now });
    return { a, sent, advance: (ms: number) => (now += ms) };
  };

  test('fires when both windows burn too fast, once, and resolves when the short one recovers', () => {
    const { a, sent, advance } = setup();
    for (let s = 0; s < 30; s++) {
      for (let i = 0; i < 10; i++) a.onRequest(req());
      advance(1000);
      a.evaluate();
    }
    assert.equal(sent.length, 0);
    for (let s = 0; s < 10; s++) {
      for (let i = 0; i < 10; i++) a.onRequest(req({ status: 502, errorType: 'connection_timeout', requestId: `bad-${s}-${i}` }));
      advance(1000);
      a.evaluate();
    }
    assert.deepEqual(sent.map((x) => [x.status, x.key]), [['firing', 'slo_availability:shop']]);
    const f = sent[0]!;
    assert.equal(f.cause?.type, 'connection_timeout');
    assert.equal(f.hop, 'gateway → origin 10.0.0.7:8080 (upstream app)');
    assert.match(f.details.join('\n'), /error budget burn: 1m: \d+% \(\d+\.\d×\), 5s: 100% \(100\.0×\); alert above 10×/);
    for (let s = 0; s < 6; s++) {
      for (let i = 0; i < 10; i++) a.onRequest(req());
      advance(1000);
      a.evaluate();
    }
    assert.deepEqual(sent.map((x) => [x.status, x.key]), [['firing', 'slo_availability:shop'], ['resolved', 'slo_availability:shop']]);
    assert.equal(sent[1]!.startsAt, f.startsAt);
    assert.equal(a.firing().length, 0);
  });

  test('a short spike alone does not fire: the long window guards against noise', () => {
    const { a, sent, advance } = setup();
    for (let s = 0; s < 60; s++) {
      for (let i = 0; i < 100; i++) a.onRequest(req());
      advance(1000);
    }
    for (let i = 0; i < 30; i++) a.onRequest(req({ status: 503, errorType: 'destination_unavailable' }));
    a.evaluate();
    // 5 s window: 30/530 bad, 5.7% → burn 5.7, under 10.
    assert.equal(sent.length, 0);
  });

  test('latency SLO: slow requests burn it, with the endpoint they went to as the hop', () => {
    const { a, sent, advance } = setup();
    for (let s = 0; s < 10; s++) {
      for (let i = 0; i < 10; i++) a.onRequest(req({ durationMs: 900, upstream: '10.0.0.9:8080' }));
      advance(1000);
    }
    a.evaluate();
    assert.deepEqual(sent.map((x) => x.key), ['slo_latency:shop']);
    assert.match(sent[0]!.summary, /^Route "shop" is burning its latency SLO \(90% under 100 ms\) 10× too fast: 100% of requests were slower than 100 ms in the last 5s$/);
    assert.equal(sent[0]!.hop, 'gateway → origin 10.0.0.9:8080 (upstream app)');
  });

  test('masked failures above the threshold fire a warning naming what was absorbed', () => {
    const { a, sent, advance } = setup();
    for (let i = 0; i < 4; i++) a.onMasked({ pool: 'app', kind: 'retry', detail: 'connection_refused' });
    a.onMasked({ pool: 'app', reason: 'queue_full', retryAfterSeconds: 1 });
    a.evaluate();
    assert.equal(sent.length, 0);
    a.onMasked({ pool: 'app', kind: 'ejection', detail: '10.0.0.7:8080' });
    a.evaluate();
    assert.deepEqual(sent.map((x) => [x.key, x.severity]), [['masked_failures:app', 'warning']]);
    assert.equal(sent[0]!.details[0], 'absorbed: 4 retry, 1 shed, 1 ejection');
    advance(11_000);
    a.evaluate();
    assert.equal(sent.at(-1)!.status, 'resolved');
  });
});

describe('the per-second timeline', () => {
  test('every closed second is handed out once, including empty ones, with percentiles and causes', () => {
    let now = 1_800_000_000_000;
    const t = new Timeline({ now: () => now });
    t.onRequest(req({ durationMs: 5 }));
    t.onRequest(req({ durationMs: 50, status: 502, errorType: 'connection_refused' }));
    now += 1000;
    t.onRequest(req({ durationMs: 7 }));
    t.onMasked('retry');
    now += 2000;
    const seconds = t.tick();
    assert.deepEqual(
      seconds.map((s) => [s.requests, s.failures, s.causes, s.masked, s.p50]),
      [
        [2, 1, { connection_refused: 1 }, {}, 5],
        [1, 0, {}, { retry: 1 }, 7],
        [0, 0, {}, {}, null],
      ],
    );
    assert.deepEqual(t.tick(), []);
    now += 1000;
    assert.equal(t.tick().length, 1);
    assert.equal(t.series().length, 4);
  });

  test('holds at most its capacity', () => {
    let now = 1_800_000_000_000;
    const t = new Timeline({ seconds: 10, now: () => now });
    now += 100_000;
    t.onRequest(req());
    assert.equal(t.series().length, 10);
  });
});

describe('endpoint health as the dashboard sees it', () => {
  const config = { url: 'http://10.0.0.7:8080', protocol: 'http:' as const, host: '10.0.0.7', port: 8080, weight: 1, backup: false };

  test('the resilience state wins: an ejection shows as down with its reason until it ends', () => {
    const ep: Record<string, unknown> = { address: '10.0.0.7:8080', config, inflight: 0, active: 'unknown', down: null };
    const pools = new Map([['app', { name: 'app', endpoints: [ep as never] }]]);
    const t = new EndpointTracker(pools);
    assert.equal(t.views()[0]!.health, 'idle');
    ep['down'] = { by: 'passive', detail: '5 connect failures in a row', since: performance.now(), until: performance.now() + 60_000 };
    t.refresh();
    assert.deepEqual([t.views()[0]!.health, t.views()[0]!.reason], ['down', 'ejected after failures: 5 connect failures in a row']);
    ep['down'] = { by: 'passive', detail: 'x', since: performance.now() - 2000, until: performance.now() - 1000 };
    ep['active'] = 'up';
    t.refresh();
    assert.equal(t.views()[0]!.health, 'up');
    assert.deepEqual(t.history('app', '10.0.0.7:8080').map((c) => c.health), ['idle', 'down', 'up']);
  });

  test('without that state, its tries decide: three failed tries in a row is failing, one success is up', () => {
    const pools = new Map([['app', { name: 'app', endpoints: [{ address: '10.0.0.7:8080', config, inflight: 0 }] }]]);
    const t = new EndpointTracker(pools);
    const attempt = (errorType: 'connection_refused' | 'http_request_error' | null) =>
      t.onAttempt({ pool: 'app', endpoint: '10.0.0.7:8080', attempt: 1, durationMs: 1, status: errorType ? null : 200, errorType, retried: false });
    attempt(null);
    attempt('connection_refused');
    attempt('connection_refused');
    // A client that left says nothing about the endpoint.
    attempt('http_request_error');
    assert.equal(t.views()[0]!.health, 'up');
    attempt('connection_refused');
    assert.deepEqual([t.views()[0]!.health, t.views()[0]!.reason], ['failing', 'its last tries failed: The origin server refused the connection (connection_refused)']);
    attempt(null);
    assert.equal(t.views()[0]!.health, 'up');
  });
});

describe('endpoint alerts', () => {
  const base: Alerts = { webhooks: [], slo: [{ route: 'shop', availability: 0.9, latency: null }], windows: [{ longMs: 10_000, shortMs: 2_000, burnRate: 2 }], certificateDays: 14, endpointDownAfterMs: 30_000, masked: null };
  const down = { pool: 'app', endpoint: '10.0.0.7:8080', state: 'down', by: 'passive', reason: 'connect failed: connection_refused' } as const;

  test('an endpoint must stay down endpoint_down_after before its alert fires; a short ejection pages nobody', () => {
    let now = 1_800_000_000_000;
    const sent: Alert[] = [];
    const a = new Alerter({ alerts: base, name: 'gw', events: quiet, deliver: (x) => sent.push(x), now: () => now });
    a.onHealth(down);
    now += 5_000;
    a.evaluate();
    a.onHealth({ ...down, state: 'up', reason: 'back' });
    now += 60_000;
    a.evaluate();
    assert.equal(sent.length, 0);
    a.onHealth(down);
    now += 31_000;
    a.evaluate();
    assert.deepEqual(sent.map((x) => [x.status, x.key]), [['firing', 'endpoint_down:app/10.0.0.7:8080']]);
    assert.equal(sent[0]!.details[0], 'decided by passive health (outlier ejection), down for 31s');
    assert.equal(sent[0]!.startsAt, new Date(now - 31_000).toISOString());
  });

  test('while an SLO alert names the pool, the endpoint alert stays quiet: one outage, one message', () => {
    let now = 1_800_000_000_000;
    const sent: Alert[] = [];
    const a = new Alerter({ alerts: base, name: 'gw', events: quiet, deliver: (x) => sent.push(x), now: () => now });
    a.onHealth(down);
    for (let s = 0; s < 40; s++) {
      a.onAttempt({ pool: 'app', endpoint: '10.0.0.7:8080', attempt: 1, durationMs: 1, status: null, errorType: 'connection_refused', retried: false });
      for (let i = 0; i < 5; i++) a.onRequest(req({ status: 503, errorType: 'destination_unavailable', upstream: null }));
      now += 1000;
      a.evaluate();
    }
    assert.deepEqual(sent.map((x) => x.key), ['slo_availability:shop']);
    const f = sent[0]!;
    assert.equal(f.cause?.type, 'destination_unavailable');
    assert.equal(f.underlying?.type, 'connection_refused');
    assert.equal(f.hop, 'gateway → origin 10.0.0.7:8080 (upstream app)');
    assert.ok(f.details.includes('because: The origin server refused the connection (connection_refused, the last try at 10.0.0.7:8080)'));
    assert.match(f.details.find((d) => d.startsWith('what to check'))!, /Nothing listens/);
  });
});
