// A TLS listener with http2: true: browsers' HTTP/2 (ALPN h2) and HTTP/1.1 on one port, both
// through the same pipeline, with HTTP/2's own rules (pseudo-headers, cookie crumbs, bodies
// without Content-Length, a failure resetting one stream and not the connection).
import assert from 'node:assert/strict';
import { type ClientHttp2Session, type IncomingHttpHeaders, connect } from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { type EchoBody, type RunningOrigin, startOrigin } from '../src/lab/origin.ts';
import { TLS_CERT_PATH, TLS_KEY_PATH, loadTlsFixture } from '../src/lab/tls-fixture.ts';
import { header, send } from './helpers/client.ts';
import { type TestGateway, startTestGateway } from './helpers/start-gateway.ts';

let healthy: RunningOrigin;
let offline: RunningOrigin;
let terminate: RunningOrigin;
let slow: RunningOrigin;
let gw: TestGateway;
let origin: string;

before(async () => {
  healthy = await startOrigin({ fault: 'healthy' });
  offline = await startOrigin({ fault: 'offline' });
  terminate = await startOrigin({ fault: 'terminate', bodyBytes: 1000, afterMs: 50 });
  slow = await startOrigin({ fault: 'slow', delayMs: 1500 });
  gw = await startTestGateway(`
name: gw-h2
listen: [{ address: 127.0.0.1:0, tls: { cert: ${TLS_CERT_PATH}, key: ${TLS_KEY_PATH}, http2: true } }]
client: { keep_alive_timeout: 500ms }
upstreams:
  app: { endpoints: ["${healthy.url}"] }
  down: { endpoints: ["${offline.url}"] }
  cut: { endpoints: ["${terminate.url}"] }
  slow: { endpoints: ["${slow.url}"] }
routes:
  - { path: /down, upstream: down }
  - { path: /cut, upstream: cut }
  - { path: /slow, upstream: slow }
  - { path: /, upstream: app }
`);
  origin = `https://localhost:${gw.addresses[0]!.port}`;
});

after(async () => {
  await gw?.stop(100);
  await Promise.all([healthy, offline, terminate, slow].map((o) => o?.close()));
});

type H2Answer = { headers: IncomingHttpHeaders; body: Buffer } | { error: NodeJS.ErrnoException; headers: IncomingHttpHeaders | null };

function open(): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = connect(origin, { ca: loadTlsFixture().cert });
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

function h2(session: ClientHttp2Session, headers: Record<string, string | string[]>, body?: Buffer): Promise<H2Answer> {
  return new Promise((resolve) => {
    const stream = session.request(headers, { endStream: body === undefined });
    let head: IncomingHttpHeaders | null = null;
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      head = h;
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ headers: head!, body: Buffer.concat(chunks) }));
    stream.on('error', (error: NodeJS.ErrnoException) => resolve({ error, headers: head }));
    if (body !== undefined) stream.end(body);
  });
}

function ok(a: H2Answer): { headers: IncomingHttpHeaders; body: Buffer } {
  assert.ok(!('error' in a), `stream failed: ${'error' in a ? a.error.message : ''}`);
  return a;
}

const echoed = (a: H2Answer): Record<string, string[]> => {
  const out: Record<string, string[]> = {};
  for (const [k, v] of (JSON.parse(ok(a).body.toString()) as EchoBody).headers) {
    const key = k.toLowerCase();
    out[key] = [...(out[key] ?? []), v];
  }
  return out;
};

describe('HTTP/2 through a TLS listener', () => {
  test('ALPN picks h2; the origin gets HTTP/1.1 with Host from :authority, one Cookie, Via 2 and proto https', async () => {
    const session = await open();
    try {
      assert.equal(session.alpnProtocol, 'h2');
      const a = await h2(session, { ':path': '/echo?x=1', cookie: ['a=1', 'b=2'], 'x-request-id': 'h2-get' });
      const res = ok(a);
      assert.equal(res.headers[':status'], 200);
      assert.match(String(res.headers['proxy-status']), /gw-h2; next-hop="app"; received-status=200/);
      const seen = echoed(a);
      assert.deepEqual(seen.host, [`localhost:${gw.addresses[0]!.port}`]);
      assert.deepEqual(seen.cookie, ['a=1; b=2']);
      assert.deepEqual(seen.via, ['2 gw-h2']);
      assert.deepEqual(seen['x-forwarded-proto'], ['https']);
      assert.equal(
        Object.keys(seen).some((k) => k.startsWith(':')),
        false,
      );
      const line = await gw.logFor('h2-get');
      assert.equal(line.status, 200);
      assert.equal(line.path, '/echo?x=1');
    } finally {
      session.close();
    }
  });

  test('a body without Content-Length reaches the origin whole (sent chunked)', async () => {
    const session = await open();
    try {
      const a = await h2(session, { ':method': 'POST', ':path': '/echo' }, Buffer.alloc(100_000, 1));
      const body = JSON.parse(ok(a).body.toString()) as EchoBody;
      assert.equal(body.bodyBytes, 100_000);
      assert.equal(body.method, 'POST');
    } finally {
      session.close();
    }
  });

  test('a failure before the answer is an explained 502 on that stream; the connection carries the next one', async () => {
    const session = await open();
    try {
      const down = ok(await h2(session, { ':path': '/down', accept: 'text/html' }));
      assert.equal(down.headers[':status'], 502);
      assert.match(String(down.headers['proxy-status']), /error=connection_refused/);
      assert.match(down.body.toString(), /<html/i);
      const next = ok(await h2(session, { ':path': '/' }));
      assert.equal(next.headers[':status'], 200);
    } finally {
      session.close();
    }
  });

  test('a failure mid-body resets that stream only, and is logged', async () => {
    const session = await open();
    try {
      const cut = await h2(session, { ':path': '/cut', 'x-request-id': 'h2-cut' });
      assert.ok('error' in cut, 'the client must see the stream cut');
      assert.equal(cut.headers?.[':status'], 200);
      assert.equal((await gw.logFor('h2-cut')).error?.type, 'http_response_incomplete');
      assert.equal(ok(await h2(session, { ':path': '/' })).headers[':status'], 200);
    } finally {
      session.close();
    }
  });

  test('a stream waiting on a slow origin outlives keep_alive_timeout; the idle connection is then closed', async () => {
    const session = await open();
    const closed = new Promise<number>((r) => session.once('close', () => r(performance.now())));
    const slowAnswer = ok(await h2(session, { ':path': '/slow/' }));
    assert.equal(slowAnswer.headers[':status'], 200);
    const done = performance.now();
    // Closed by the gateway (GOAWAY), not by the test; within a few idle periods.
    const at = await Promise.race([closed, new Promise<null>((r) => setTimeout(() => r(null), 5000))]);
    assert.notEqual(at, null, 'the idle session was not closed');
    assert.ok(at! - done >= 400, `closed ${at! - done} ms after the last answer`);
    session.destroy();
  });

  test('HTTP/1.1 clients on the same port still work', async () => {
    const r = await send(`${origin}/echo`, { ca: loadTlsFixture().cert, servername: 'localhost' });
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.status, 200);
    assert.match(header(r, 'proxy-status'), /received-status=200/);
    const seen = (JSON.parse(r.body) as EchoBody).headers.find(([k]) => k.toLowerCase() === 'via');
    assert.equal(seen?.[1], '1.1 gw-h2');
  });
});
