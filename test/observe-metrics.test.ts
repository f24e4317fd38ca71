// /metrics under a real load while the only origin is killed half-way: what Prometheus
// would scrape must add up to exactly what the clients saw, error type by error type.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type RunningOrigin, startOrigin } from '../src/lab/origin.ts';
import { startLoad } from './helpers/load.ts';
import { parseMetrics, type Sample, sumBy, total } from './helpers/prom.ts';
import { startTestGateway, type TestGateway } from './helpers/start-gateway.ts';

let origin: RunningOrigin;
let gw: TestGateway;

before(async () => {
  origin = await startOrigin({ fault: 'healthy' });
  gw = await startTestGateway(`
admin: { listen: "127.0.0.1:0" }
upstreams: { app: { endpoints: [${origin.url}] } }
routes: [{ name: app, upstream: app }]
`);
});

after(async () => {
  await gw.stop(1000);
  await origin.close();
});

async function scrape(): Promise<Sample[]> {
  const res = await fetch(`${gw.observe.admin!.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseMetrics(await res.text());
}

test('request counters by status class and error type match what the clients saw', async () => {
  const N = 400;
  const load = startLoad(gw.url, ['/a', '/b?x=1', '/c'], { concurrency: 4, max: N });
  const scrapes: number[] = [];
  while (load.seen.length < N / 2) {
    scrapes.push(total(await scrape(), 'gatewise_requests_total'));
    await new Promise((r) => setTimeout(r, 20));
  }
  await origin.stop();
  while (load.seen.length < N) {
    scrapes.push(total(await scrape(), 'gatewise_requests_total'));
    await new Promise((r) => setTimeout(r, 20));
  }
  const seen = await load.stop();
  assert.equal(seen.length, N);
  // Counters scraped during the load only ever grow.
  for (let i = 1; i < scrapes.length; i++) assert.ok(scrapes[i]! >= scrapes[i - 1]!, `scrape ${i} went down: ${scrapes[i - 1]} → ${scrapes[i]}`);

  // The request event is published right after the response ends: wait for the last ones.
  let m = await scrape();
  for (let i = 0; i < 100 && total(m, 'gatewise_requests_total') < N; i++) {
    await new Promise((r) => setTimeout(r, 20));
    m = await scrape();
  }
  assert.equal(total(m, 'gatewise_requests_total'), N);

  // A response cut by the kill after its headers left carries no Proxy-Status the client
  // could read: both sides count it as "cut" (a 2xx the gateway logged with an error).
  const clientTypes = new Map<string, number>();
  const clientClasses = new Map<string, number>();
  for (const s of seen) {
    const type = s.cut ? 'cut' : (s.errorType ?? 'none');
    clientTypes.set(type, (clientTypes.get(type) ?? 0) + 1);
    const cls = `${Math.floor(s.status / 100)}xx`;
    clientClasses.set(cls, (clientClasses.get(cls) ?? 0) + 1);
  }
  assert.ok((clientTypes.get('none') ?? 0) >= N / 2 - 4, 'the first half was served');
  assert.ok([...clientTypes.keys()].some((t) => t !== 'none'), `the second half failed: ${JSON.stringify([...clientTypes])}`);
  const byType = new Map<string, number>();
  for (const x of m.filter((x) => x.name === 'gatewise_requests_total')) {
    const type = x.labels['status_class'] === '2xx' && x.labels['error_type'] !== 'none' ? 'cut' : x.labels['error_type']!;
    byType.set(type, (byType.get(type) ?? 0) + x.value);
  }
  assert.deepEqual(new Map([...byType].sort()), new Map([...clientTypes].sort()));
  assert.deepEqual(new Map([...sumBy(m, 'gatewise_requests_total', 'status_class')].sort()), new Map([...clientClasses].sort()));
  assert.equal(total(m, 'gatewise_request_duration_seconds_count', { route: 'app' }), N);

  // Tries and retries agree with the access log, line by line.
  // Access lines leave in batches (at most 50 ms late): wait for the last ones.
  const appLines = () => gw.lines.filter((l) => l['route'] === 'app');
  for (let i = 0; i < 100 && appLines().length < N; i++) await new Promise((r) => setTimeout(r, 20));
  const lines = appLines();
  assert.equal(lines.length, N);
  const tries = lines.reduce((a, l) => a + l.attempts, 0);
  const retries = lines.reduce((a, l) => a + Math.max(0, l.attempts - 1), 0);
  assert.equal(total(m, 'gatewise_upstream_tries_total'), tries);
  assert.equal(total(m, 'gatewise_retries_total'), retries);
  assert.ok(retries > 0, 'the failures were retried');
  assert.equal(total(m, 'gatewise_upstream_try_duration_seconds_count'), tries);

  // The killed origin shows as not up; process metrics come from the private registry.
  const up = m.find((s) => s.name === 'gatewise_endpoint_up' && s.labels['endpoint'] === `${origin.host}:${origin.port}`);
  assert.equal(up?.value, 0);
  assert.ok(m.some((s) => s.name === 'process_cpu_user_seconds_total'));
  assert.ok(m.some((s) => s.name === 'nodejs_eventloop_lag_seconds'));
});
