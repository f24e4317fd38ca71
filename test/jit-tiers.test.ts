// `gatewise serve` runs without V8's Maglev tier (src/cli/jit-tiers.ts): under load its hot
// functions go to TurboFan and none to Maglev, unless node was started with --maglev. Seen
// through V8's own --trace-opt lines, which the process writes to stdout as it compiles.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { skipMaglev } from '../src/cli/jit-tiers.ts';
import { spawnGatewise } from './helpers/gateway-process.ts';
import { startLoad } from './helpers/load.ts';

const REQUESTS = 6000;

/** The --trace-opt compile lines written while REQUESTS requests went through the gateway. */
async function tiersUnderLoad(origin: string, nodeArgs: string[]): Promise<{ maglev: number; turbofan: number }> {
  const gw = await spawnGatewise(['serve', '--listen', '127.0.0.1:0', '--upstream', origin], {}, ['--trace-opt', ...nodeArgs]);
  try {
    // Start-up's own compiles (module loading, before `serve` runs) are not counted.
    await sleep(200);
    const seen = gw.output().length;
    const load = startLoad(gw.url, ['/'], { concurrency: 8, max: REQUESTS });
    await load.done;
    assert.deepEqual(new Set(load.seen.map((r) => r.status)), new Set([200]));
    await sleep(200);
    const lines = gw.output().slice(seen).split('\n');
    const count = (target: RegExp) => lines.filter((l) => l.startsWith('[compiling method') && target.test(l)).length;
    return { maglev: count(/\(target MAGLEV\)/), turbofan: count(/\(target TURBOFAN/) };
  } finally {
    await gw.signal('SIGTERM');
  }
}

test('gatewise serve sends hot functions to TurboFan, none to Maglev; node --maglev keeps Maglev', async () => {
  const origin = createServer((_req, res) => res.end('ok'));
  origin.listen(0, '127.0.0.1');
  await once(origin, 'listening');
  const url = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  try {
    const withMaglev = await tiersUnderLoad(url, ['--maglev']);
    // The control: the same load with Maglev left on does compile with it, so a count of
    // zero below is the flag's doing, not a load too light to make anything hot.
    assert.ok(withMaglev.maglev > 0, `no Maglev compile even with --maglev: ${JSON.stringify(withMaglev)}`);
    const served = await tiersUnderLoad(url, []);
    assert.ok(served.turbofan > 0, `nothing became hot under ${REQUESTS} requests: ${JSON.stringify(served)}`);
    assert.equal(served.maglev, 0, `functions compiled with Maglev while serving: ${JSON.stringify(served)}`);
  } finally {
    origin.close();
  }
});

test('skipMaglev leaves an explicit --maglev alone and turns Maglev off otherwise', () => {
  assert.equal(skipMaglev(['--maglev', '--trace-opt']), false);
  // Sets the flag in this test process too: the tests run without Maglev from here on.
  assert.equal(skipMaglev(['--max-old-space-size=200']), true);
});
