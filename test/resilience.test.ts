// The protections of the resilience work, each measured with a lab scenario from
// lab/scenarios/protected/ (the same files `gatewise lab run` takes), plus the retry-storm
// bound measured on the gateway's own attempt events.
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { describe, test } from 'node:test';
import type { Report, RequestRecord } from '../src/lab/scenario/runner.ts';
import { formatReport, loadScenarioFile, runScenario } from '../src/lab/scenario/runner.ts';
import { startOrigin } from '../src/lab/origin.ts';
import type { AttemptEndEvent } from '../src/observe/events.ts';
import { send } from './helpers/client.ts';
import { startTestGateway } from './helpers/start-gateway.ts';

/**
 * Runs a protected scenario, and checks that its printed table says what its report says.
 * `connections`: the lab client's, when the scenario's own would leave requests unsent
 * (as the bench reruns it).
 */
async function run(name: string, connections?: number): Promise<Report> {
  const file = `lab/scenarios/protected/${name}.yaml`;
  const sc = loadScenarioFile(file);
  const r = await runScenario(connections === undefined ? sc : { ...sc, load: { ...sc.load, connections } }, { log: () => {} });
  const text = formatReport(r);
  const total = /^total\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(text);
  assert.ok(total, text);
  const t = r.total;
  assert.deepEqual(total.slice(1).map(Number), [t.sent, t['2xx'], t['502'], t['503'], t['504'], t.other, t.connErr], text);
  assert.equal(t.sent, t['2xx'] + t['502'] + t['503'] + t['504'] + t.other + t.connErr, text);
  for (const row of r.rows) assert.match(text, new RegExp(`^\\s+${row.t}s\\s+${row.sent}\\s+${row['2xx']}\\s`, 'm'), text);
  if (r.expectations) assert.deepEqual(r.expectations.filter((e) => !e.ok), [], text);
  return r;
}

const failed = (r: Report): RequestRecord[] => r.requests.filter((q) => q.code !== null || q.status! < 200 || q.status! >= 300);
const table = (r: Report): string => JSON.stringify(r.rows.map((row) => [row.t, row.sent, row['2xx']]));
const errorOf = (q: RequestRecord): string | null => q.chain.find((m) => m.error !== null)?.error ?? null;

describe('absorbing upstream failures (lab/scenarios/protected)', { concurrency: false }, () => {
  test('offline: one of three endpoints killed under GETs → zero user-visible errors', { timeout: 30_000 }, async () => {
    const r = await run('offline');
    assert.equal(failed(r).length, 0, table(r));
    assert.ok(r.total.sent >= 500);
  });

  test('offline with POSTs: no error from refused connects; at most a POST on the dying connection, as connection_terminated', { timeout: 30_000 }, async () => {
    const r = await run('offline-post');
    assert.equal(r.total.causes['connection_refused'] ?? 0, 0);
    for (const q of failed(r)) {
      assert.equal(errorOf(q), 'connection_terminated', JSON.stringify(q));
      assert.ok(q.sentMs >= 2900 && q.sentMs < 3300, `only while c dies: ${JSON.stringify(q)}`);
    }
    assert.ok(failed(r).length <= 3);
  });

  test('blackhole: one of three drops packets → zero errors, and after ejection no request waits for a connect timeout', { timeout: 30_000 }, async () => {
    const r = await run('blackhole');
    assert.equal(failed(r).length, 0, table(r));
    // The connect timeout is 500 ms: only requests sent before the endpoint was held out wait it.
    const slowAfter = r.requests.filter((q) => q.sentMs >= 1500 && q.latencyMs >= 500);
    assert.deepEqual(slowAfter, [], 'a request after the ejection waited for the connect timeout');
    assert.ok(r.requests.some((q) => q.latencyMs >= 500), 'the first requests to the blackhole did wait: the scenario is real');
  });

  test('keepalive-race, origin not announcing its timeout → zero errors, GET or POST, without resending a POST', { timeout: 30_000 }, async () => {
    const r = await run('keepalive-race');
    assert.equal(failed(r).length, 0, JSON.stringify(failed(r)));
    assert.ok(r.requests.filter((q) => q.method === 'POST').length >= 10);
  });

  test('keepalive-race, origin announcing Keep-Alive: timeout=1 → zero errors, GET or POST', { timeout: 30_000 }, async () => {
    const r = await run('keepalive-race-announced');
    assert.equal(failed(r).length, 0, JSON.stringify(failed(r)));
  });

  test('deploy: the only endpoint down for 2 s → zero errors for requests that arrive meanwhile (they wait)', { timeout: 30_000 }, async () => {
    const r = await run('deploy');
    assert.equal(failed(r).length, 0, table(r));
    const during = r.requests.filter((q) => q.sentMs >= 3100 && q.sentMs < 4900);
    assert.ok(during.length > 50, 'requests did arrive during the outage');
    assert.ok(during.some((q) => q.latencyMs > 500), 'those requests waited for the origin');
  });

  test('overload at 3× capacity: successes or fast 503s with a computed Retry-After; throughput ≥ 90% of capacity; the queue carries the 3 s wait; origin queue bounded', { timeout: 30_000 }, async () => {
    // The queue holds more than the scenario's 64 client connections: every request must be sent.
    const r = await run('overload', 1000);
    assert.equal(r.total.skipped, 0);
    const capacity = 80; // 4 workers × 50 ms
    const seconds = r.load.durationMs / 1000;
    assert.equal(r.total['502'] + r.total['504'] + r.total.connErr + r.total.other, 0, table(r));
    const sheds = r.requests.filter((q) => q.status === 503);
    assert.ok(sheds.length > 0, 'the overload was real');
    for (const q of sheds) {
      assert.equal(errorOf(q), 'connection_limit_reached');
      assert.match(q.retryAfter ?? '', /^\d+$/, 'every 503 carries Retry-After');
    }
    // A request is queued only when its slot should come within queue_timeout: nearly every
    // 503 is immediate; the few that waited are those whose slot slipped past it.
    const fast = sheds.filter((q) => q.latencyMs < 50).length;
    assert.ok(fast >= 0.98 * sheds.length, `${sheds.length - fast} of ${sheds.length} 503s took 50 ms or more`);
    assert.ok(r.total['2xx'] / seconds >= 0.9 * capacity, `throughput ${r.total['2xx'] / seconds}/s of ${capacity}/s`);
    // When the burst ends, the queue (what the origin serves within the 3 s queue_timeout) is
    // served, not refused: the origin works on for most of those 3 s.
    assert.ok(r.total['2xx'] >= 0.9 * capacity * (seconds + 2.5), `${r.total['2xx']} successes: the queue did not carry past the burst`);
    const lastServed = Math.max(...r.requests.filter((q) => q.status === 200).map((q) => q.sentMs + q.latencyMs));
    assert.ok(lastServed - r.load.durationMs >= 2500, `the last success came ${Math.round(lastServed - r.load.durationMs)} ms after the burst: the queue held less than the 3 s wait`);
    const origin = r.origins.app!;
    assert.equal(origin.rejected, 0, 'the origin never had to reset a request');
    assert.ok(origin.peakQueue <= 4, `origin queue peaked at ${origin.peakQueue}`);
  });

  test('dns: the resolver fails for 4 s → zero errors on the last good answer; the address changes → traffic moves before the old origin stops', { timeout: 30_000 }, async () => {
    const r = await run('dns');
    assert.equal(failed(r).length, 0, table(r));
  });
});

describe('a retry storm is impossible', () => {
  test('every endpoint down: upstream tries per client request stay within retry.tries, and the retry budget caps them below that', async () => {
    const holes = await Promise.all([1, 2, 3].map(() => startOrigin({ fault: 'blackhole' })));
    const gw = await startTestGateway(`
timeouts: { connect: 300ms }
upstreams:
  app:
    endpoints: [${holes.map((h) => `"${h.url}"`).join(', ')}]
    retry: { tries: 3, budget: { ratio: 0.2, min_per_second: 5 } }
routes:
  - { path: /, upstream: app }
`);
    const tries = new Map<string, number>();
    const onAttempt = (m: unknown): void => {
      const e = m as AttemptEndEvent;
      tries.set(e.endpoint, (tries.get(e.endpoint) ?? 0) + 1);
    };
    diagnosticsChannel.subscribe('gatewise:attempt:end', onAttempt);
    try {
      const clients = 60;
      const results = await Promise.all(Array.from({ length: clients }, (_, i) => send(`${gw.url}/`, { headers: { 'x-request-id': `storm-${i}` } })));
      assert.ok(results.every((r) => r.ok && r.status === 504));
      const total = [...tries.values()].reduce((a, b) => a + b, 0);
      for (let i = 0; i < clients; i++) {
        const line = await gw.logFor(`storm-${i}`);
        assert.ok(line.attempts <= 3, `request ${i} made ${line.attempts} tries`);
      }
      // Without a budget 60 requests × 3 tries = 180; the budget allows 20% of live requests plus a few a second.
      assert.ok(total < 120, `${total} upstream tries for ${clients} requests`);
    } finally {
      diagnosticsChannel.unsubscribe('gatewise:attempt:end', onAttempt);
      await gw.stop(100);
      await Promise.all(holes.map((h) => h.close()));
    }
  });
});
