// An endpoint's undici Pool is made on first use, and one closed or destroyed before that
// stays so: what it hands out afterwards is already ended, never a Pool left open.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pool } from 'undici';
import { LazyDispatcher } from '../src/upstream/lazy-dispatcher.ts';
import { errors } from '../src/upstream/undici-parts.ts';

function counted(): { lazy: LazyDispatcher; made: () => number } {
  let made = 0;
  const lazy = new LazyDispatcher(() => {
    made++;
    // Nothing listens on port 9: a Pool connects only when a request needs it.
    return new Pool('http://127.0.0.1:9');
  });
  return { lazy, made: () => made };
}

test('the Pool is made on the first get, once', async () => {
  const { lazy, made } = counted();
  assert.equal(made(), 0);
  const pool = lazy.get();
  assert.equal(lazy.get(), pool);
  assert.equal(made(), 1);
  await lazy.close();
  assert.equal(pool.closed, true);
});

for (const [end, state, refusal] of [
  ['close', 'closed', errors.ClientClosedError],
  ['destroy', 'destroyed', errors.ClientDestroyedError],
] as const) {
  test(`${state} before its first use, it makes no Pool until asked, then one already ${state} that refuses requests`, async () => {
    const { lazy, made } = counted();
    await lazy[end]();
    assert.equal(made(), 0);
    const pool = lazy.get();
    assert.equal(pool[state], true);
    await assert.rejects(pool.request({ path: '/', method: 'GET' }), refusal);
  });
}

test('destroyed after use, the Pool it made is destroyed', async () => {
  const { lazy } = counted();
  const pool = lazy.get();
  await lazy.destroy();
  assert.equal(pool.destroyed, true);
});
