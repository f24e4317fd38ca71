// Generated request ids stay random version-4 UUIDs (logs and callers parse them as such),
// and do not repeat across many pools of random bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newRequestId } from '../src/server/request-id.ts';

test('request ids are distinct version-4 UUIDs', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 20_000; i++) {
    const id = newRequestId();
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    seen.add(id);
  }
  assert.equal(seen.size, 20_000);
});
