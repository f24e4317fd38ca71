// The gateway loads undici's parts from their own files (src/upstream/undici-parts.ts), not
// from the index: each must still be the very part the index exports, or an upgrade of
// undici that moved one would leave the gateway on a copy that nothing else recognises.
import assert from 'node:assert/strict';
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
