// The gateway loads undici's parts from their own files (src/upstream/undici-parts.ts), not
// from the index: each must still be the very part the index exports, or an upgrade of
// undici that moved one would leave the gateway on a copy that nothing else recognises.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import * as undici from 'undici';
import { buildConnector, errors, loadPool } from '../src/upstream/undici-parts.ts';

test('each part loaded from its own file is the one undici exports', () => {
  assert.equal(buildConnector, undici.buildConnector);
  assert.equal(errors, undici.errors);
  assert.equal(loadPool(), undici.Pool);
  // An error raised by the gateway's pool is the class the classifier tests against.
  assert.ok(new errors.SocketError('x') instanceof undici.errors.UndiciError);
});

test('a started gateway has not loaded the whole of undici', () => {
  // The index's own module, loaded only by require('undici') or import 'undici'.
  const script = `
    const { startGateway } = await import(${JSON.stringify(new URL('../src/gateway.ts', import.meta.url).href)});
    const { quickConfig } = await import(${JSON.stringify(new URL('../src/config/quick.ts', import.meta.url).href)});
    const gw = await startGateway(quickConfig({ listen: '127.0.0.1:0', upstreams: ['http://127.0.0.1:9'] }));
    const { createRequire } = await import('node:module');
    const index = createRequire(import.meta.url).resolve('undici');
    const loaded = Object.keys((await import('node:module')).default._cache ?? {});
    process.stdout.write(JSON.stringify({ index: loaded.includes(index), parts: loaded.filter((f) => f.includes('/undici/')).length }));
    await gw.stop();
  `;
  const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: new URL('..', import.meta.url), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  assert.equal(out.index, false, 'undici/index.js was loaded');
  assert.ok(out.parts > 0, 'no part of undici was loaded at all: the check would pass for the wrong reason');
});
