// Riding out a deploy: requests that wait for a refused endpoint (wait_for_endpoint) are
// released soon after it is back, because the connect hold is probed at least every 250 ms
// while they wait (1 s when nobody does).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startOrigin } from '../src/lab/origin.ts';
import { send } from './helpers/client.ts';
import { startTestGateway } from './helpers/start-gateway.ts';

const cleanup: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

test('waiting requests go within about 250 ms of the origin coming back, not up to the 1 s probe spacing', { timeout: 20_000 }, async () => {
  const origin = await startOrigin({ fault: 'healthy' });
  cleanup.push(() => origin.close());
  const gw = await startTestGateway(`
upstreams:
  app:
    endpoints: ["${origin.url}"]
    wait_for_endpoint: 5s
routes:
  - { path: /, upstream: app }
`);
  cleanup.push(() => gw.stop(100));
  assert.equal((await send(`${gw.url}/`)).ok, true);
  await origin.stop();
  const t0 = performance.now();
  const done: number[] = [];
  const pending = [0, 1, 2].map(async (i) => {
    await sleep(i * 20);
    const r = await send(`${gw.url}/`, { timeoutMs: 8000 });
    done.push(performance.now());
    return r;
  });
  // Back after 1.6 s: with holds of 100, 200, 400, 800, 1000 ms the probes come at about
  // 0.1, 0.3, 0.7, 1.5 and 2.5 s; capped at 250 ms they come every 250 ms from 0.55 s on.
  await sleep(1600 - (performance.now() - t0));
  await origin.start();
  const back = performance.now();
  const results = await Promise.all(pending);
  for (const r of results) assert.equal(r.ok && r.status, 200, JSON.stringify(r));
  const late = Math.max(...done) - back;
  assert.ok(late < 500, `the last waiting request was answered ${Math.round(late)} ms after the origin came back`);
});
