// The request's framing is the client's, whatever its Connection header lists: a client
// that names content-length there must neither lose its body on the way to the origin nor
// slip past max_request_body_bytes.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { httpRequest, rawExchange, splitHead } from './helpers/raw-http.ts';
import { startTestGateway, type TestGateway } from './helpers/start-gateway.ts';

let origin: Server;
let gw: TestGateway;

before(async () => {
  // Answers with the number of body bytes it received.
  origin = createServer((req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
    });
    req.on('end', () => res.end(`body=${n}`));
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
