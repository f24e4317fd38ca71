// Reading a small request body before the first try: it ends with the body, with 413 past the
// limit, or with the caller's error (total deadline, client gone) saying how much was read.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { ProxyError } from '../src/errors/proxy-error.ts';
import { bufferBody } from '../src/proxy/request-body.ts';

const request = () => new PassThrough() as PassThrough & IncomingMessage;

test('a stop already signalled ends the read at once, with 0 bytes read', async () => {
  const err = await bufferBody(request(), null, { signal: AbortSignal.abort(), error: (n) => new Error(`stopped after ${n} bytes`) }).catch((e: unknown) => e);
  assert.equal((err as Error).message, 'stopped after 0 bytes');
});

test('a stop while the body arrives ends the read with the bytes read so far', async () => {
  const req = request();
  const ac = new AbortController();
  const read = bufferBody(req, null, { signal: ac.signal, error: (n) => new Error(`stopped after ${n} bytes`) });
  req.write(Buffer.alloc(5));
  await new Promise((r) => setImmediate(r));
  ac.abort();
  assert.equal(((await read.catch((e: unknown) => e)) as Error).message, 'stopped after 5 bytes');
});

test('the whole body when it ends within the limit; 413 the moment it passes it', async () => {
  const ok = request();
  const whole = bufferBody(ok, 10);
  ok.end(Buffer.from('hello'));
  const body = await whole;
  assert.equal(body.kind, 'buffered');
  assert.equal(body.kind === 'buffered' && body.data.toString(), 'hello');

  const big = request();
  const over = bufferBody(big, 10);
  big.write(Buffer.alloc(8));
  big.write(Buffer.alloc(8));
  const err = await over.catch((e: unknown) => e);
  assert.ok(err instanceof ProxyError);
  assert.equal(err.status, 413);
  assert.match(err.message, /passed limits\.max_request_body_bytes \(10\): 16 bytes read/);
});
