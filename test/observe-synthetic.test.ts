// Synthetic checks answer "down for everyone, or just me?" from the gateway's side: each
// check probes through the gateway and straight to the origin, and the pair gives the verdict.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type RunningOrigin, startOrigin } from '../src/lab/origin.ts';
import { parseMetrics } from './helpers/prom.ts';
import { startTestGateway, type TestGateway } from './helpers/start-gateway.ts';

let a: RunningOrigin;
let b: RunningOrigin;
let gw: TestGateway;

before(async () => {
  a = await startOrigin({ fault: 'healthy' });
  b = await startOrigin({ fault: 'healthy' });
  // Long intervals: the test drives the probes itself with runOnce().
  gw = await startTestGateway(`
admin: { listen: "127.0.0.1:0" }
upstreams:
  pair: { endpoints: [${a.url}, ${b.url}], health: { passive: null } }
  solo: { endpoints: [${a.url}], health: { passive: null } }
routes:
  - { name: solo, host: solo.test, upstream: solo }
  - { name: pair, upstream: pair }
synthetic:
  - { name: pair-a, url: /health, origin: ${a.url}/health, interval: 1h, timeout: 1s }
  - { name: solo-b, url: http://solo.test/health, origin: ${b.url}/health, interval: 1h, timeout: 1s }
  - { name: solo, url: http://solo.test/health, interval: 1h, timeout: 1s }
`);
});

after(async () => {
  await gw.stop(1000);
  await a.close();
  await b.close();
});

const verdicts = () => Object.fromEntries(gw.observe.status().synthetic.map((c) => [c.name, c.verdict.code]));

test('up through the gateway and at the origin', async () => {
  await gw.observe.synthetic!.runOnce();
  assert.deepEqual(verdicts(), { 'pair-a': 'up', 'solo-b': 'up', solo: 'up' });
  const check = gw.observe.status().synthetic[0]!;
  assert.equal(check.gateway.at(-1)!.status, 200);
  assert.ok(check.gateway.at(-1)!.requestId, 'the gateway probe carries the request id the gateway gave it');
  assert.equal(check.direct!.at(-1)!.status, 200);
});

test('origin a stopped: masked where another endpoint answers, down for everyone where not, the gateway path alone where the origin probed is another', async () => {
  await a.stop();
  try {
    await gw.observe.synthetic!.runOnce();
    assert.deepEqual(verdicts(), { 'pair-a': 'masked', 'solo-b': 'gateway', solo: 'failing' });
    const [pair, soloB, solo] = gw.observe.status().synthetic;
    assert.equal(pair!.direct!.at(-1)!.cause, 'connection_refused');
    assert.match(pair!.verdict.text, /^the origin probe fails \(connect to 127\.0\.0\.1:\d+ refused: nothing listens there\) but the gateway still answers/);
    // Refused, or "no endpoint available" once the gateway holds the endpoint out.
    assert.match(String(soloB!.gateway.at(-1)!.status), /^50[23]$/);
    assert.match(String(soloB!.gateway.at(-1)!.cause), /^(connection_refused|destination_unavailable)$/);
    assert.match(solo!.verdict.text, /^failing through the gateway: .+ \((connection_refused|destination_unavailable)\)$/);

    const m = parseMetrics(await (await fetch(`${gw.observe.admin!.url}/metrics`)).text());
    const up = (check: string, via: string) => m.find((s) => s.name === 'gatewise_synthetic_up' && s.labels['check'] === check && s.labels['via'] === via)?.value;
    assert.equal(up('pair-a', 'gateway'), 1);
    assert.equal(up('pair-a', 'origin'), 0);
    assert.equal(up('solo-b', 'gateway'), 0);
    assert.equal(up('solo-b', 'origin'), 1);
    assert.ok(m.some((s) => s.name === 'gatewise_synthetic_probes_total' && s.labels['result'] === 'connection_refused' && s.value >= 1));
  } finally {
    await a.start();
  }
});

test('both stopped: down for everyone', async () => {
  const c = await startTestGateway(`
upstreams: { app: { endpoints: [${b.url}], health: { passive: null } } }
routes: [{ upstream: app }]
synthetic: [{ name: home, url: /, origin: ${b.url}/, interval: 1h, timeout: 1s }]
`);
  await b.stop();
  try {
    await c.observe.synthetic!.runOnce();
    const [home] = c.observe.status().synthetic;
    assert.equal(home!.verdict.code, 'down');
    assert.match(home!.verdict.text, /^down for everyone: the origin itself fails \(connect to 127\.0\.0\.1:\d+ refused: nothing listens there\)$/);
  } finally {
    await b.start();
    await c.stop(1000);
  }
});

test('a probe that gets no answer in time is a timeout', async () => {
  const slow = await startOrigin({ fault: 'blackhole' });
  const c = await startTestGateway(`
upstreams: { app: { endpoints: [${slow.url}], health: { passive: null } } }
routes: [{ upstream: app }]
synthetic: [{ name: home, url: /, origin: ${slow.url}/, interval: 1h, timeout: 300ms }]
`);
  try {
    await c.observe.synthetic!.runOnce();
    const [home] = c.observe.status().synthetic;
    assert.equal(home!.gateway.at(-1)!.cause, 'http_response_timeout');
    assert.equal(home!.direct!.at(-1)!.message, 'no answer within 300 ms');
    assert.equal(home!.verdict.code, 'down');
  } finally {
    await c.stop(500);
    await slow.close();
  }
});
