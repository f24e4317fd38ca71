// The request's framing is the client's, whatever its Connection header lists: a client
// that names content-length there must neither lose its body on the way to the origin nor
// slip past max_request_body_bytes. A chunked body, of no announced length, is held to the
// same limit as it arrives.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { httpRequest, rawExchange, splitHead } from './helpers/raw-http.ts';
import { startTestGateway, type TestGateway } from './helpers/start-gateway.ts';

let origin: Server;
let gw: TestGateway;
/** Body bytes the origin received, over all requests, and the bodies it received whole. */
const seen = { bytes: 0, whole: 0 };

before(async () => {
  // Answers with the number of body bytes it received.
  origin = createServer((req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      seen.bytes += c.length;
    });
    req.on('end', () => {
      seen.whole++;
      res.end(`body=${n}`);
    });
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  const port = (origin.address() as AddressInfo).port;
  gw = await startTestGateway(`
listen: 127.0.0.1:0
limits: { max_request_body_bytes: 10 }
upstreams: { app: { endpoints: ["http://127.0.0.1:${port}"] } }
routes: [{ path: /, upstream: app }]
`);
});

after(async () => {
  await gw.stop();
  origin.close();
});

/** A chunked request head and one chunk per element of `chunks`; the last chunk only if `end`. */
function chunkedRequest(chunks: Buffer[], end: boolean): Buffer {
  const parts: Buffer[] = [Buffer.from('POST / HTTP/1.1\r\nHost: lab.test\r\nTransfer-Encoding: chunked\r\n\r\n')];
  for (const c of chunks) parts.push(Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n'));
  if (end) parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

async function exchange(port: number, send: Buffer): Promise<{ status: number; head: string; body: string; ending: string }> {
  const r = await rawExchange({
    port,
    send,
    timeoutMs: 3000,
    until: (d) => /\r\n\r\n/.test(d.toString()) && /body=\d+|problem|Gateway|Large/i.test(d.toString()),
  });
  const { head, body } = splitHead(r.text);
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), head, body, ending: r.ending };
}

async function post(body: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const r = await rawExchange({
    port: Number(new URL(gw.url).port),
    send: httpRequest('/', headers, body),
    until: (d) => /\r\n\r\n/.test(d.toString()) && /body=\d+|problem|Gateway|Large/i.test(d.toString()),
  });
  const { head, body: rest } = splitHead(r.text);
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), body: rest };
}

test('a body reaches the origin whole, with or without content-length named in Connection', async () => {
  assert.match((await post('hello', {})).body, /body=5/);
  assert.match((await post('hello', { Connection: 'keep-alive, content-length' })).body, /body=5/);
});

test('the body limit holds when content-length is named in Connection', async () => {
  assert.equal((await post('x'.repeat(20), {})).status, 413);
  assert.equal((await post('x'.repeat(20), { Connection: 'content-length' })).status, 413);
});

test('a chunked body within the limit reaches the origin whole; over it, 413 and the origin never sees it', async () => {
  const port = Number(new URL(gw.url).port);
  const ok = await exchange(port, chunkedRequest([Buffer.from('hel'), Buffer.from('lo')], true));
  assert.equal(ok.status, 200);
  assert.match(ok.body, /body=5/);
  // The limit (10 bytes) is within what is buffered for retries: the body is read first.
  const before = { ...seen };
  const over = await exchange(port, chunkedRequest([Buffer.from('x'.repeat(8)), Buffer.from('x'.repeat(8))], true));
  assert.equal(over.status, 413);
  assert.match(over.head, /proxy-status: .*error=http_request_error; details="request_body_too_large"/i);
  assert.match(over.head, /connection: close/i);
  assert.deepEqual(seen, before, 'the origin received nothing of it');
});

test('a chunked body larger than what is buffered is stopped as it streams, with 413, without waiting for its end', async () => {
  const big = await startTestGateway(`
listen: 127.0.0.1:0
limits: { max_request_body_bytes: 100kb }
upstreams: { app: { endpoints: ["${`http://127.0.0.1:${(origin.address() as AddressInfo).port}`}"] } }
routes: [{ path: /, upstream: app }]
`);
  try {
    const port = Number(new URL(big.url).port);
    const chunk = Buffer.alloc(8192, 120);
    const under = await exchange(port, chunkedRequest(Array.from({ length: 10 }, () => chunk), true));
    assert.equal(under.status, 200);
    assert.match(under.body, /body=81920/);
    // 104 KiB and no last chunk: the client is still sending when the limit is passed.
    const whole = seen.whole;
    const bytes = seen.bytes;
    const over = await exchange(port, chunkedRequest(Array.from({ length: 13 }, () => chunk), false));
    assert.equal(over.status, 413, over.head);
    assert.match(over.head, /proxy-status: .*details="request_body_too_large"/i);
    assert.match(over.body, /^413 Payload Too Large/);
    assert.equal(seen.whole, whole, 'the origin never got the body whole');
    assert.ok(seen.bytes - bytes <= 102400, `the origin got ${seen.bytes - bytes} bytes of it`);
  } finally {
    await big.stop();
  }
});

test('a client still sending its body when the total timeout passes gets 408, and the origin never sees the request', async () => {
  const slow = await startTestGateway(`
listen: 127.0.0.1:0
upstreams: { app: { endpoints: ["${`http://127.0.0.1:${(origin.address() as AddressInfo).port}`}"] } }
routes: [{ path: /, upstream: app, timeouts: { total: 300ms } }]
`);
  try {
    const before = { ...seen };
    const t0 = performance.now();
    // 5 of the 10 bytes announced, then nothing: the client's own request_timeout is 60 s.
    const r = await exchange(Number(new URL(slow.url).port), Buffer.from('POST / HTTP/1.1\r\nHost: lab.test\r\nContent-Length: 10\r\n\r\nhello'));
    const ms = performance.now() - t0;
    assert.equal(r.status, 408, r.head);
    assert.match(r.head, /proxy-status: .*error=http_request_error; details="client_body_timeout"/i);
    assert.ok(ms >= 290 && ms < 2000, `answered after ${Math.round(ms)} ms`);
    assert.deepEqual(seen, before, 'the origin received nothing');
  } finally {
    await slow.stop();
  }
});
