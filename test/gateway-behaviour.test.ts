// Behaviour of the gateway beyond error classification: WebSocket pass-through, slow
// clients, trusted proxies, and a graceful stop of a real process.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, request } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type EchoBody, type RunningOrigin, startOrigin } from '../src/lab/origin.ts';
import { header, send } from './helpers/client.ts';
import { spawnGatewise } from './helpers/gateway-process.ts';
import { type TestGateway, startTestGateway } from './helpers/start-gateway.ts';

let healthy: RunningOrigin;
let offline: RunningOrigin;

before(async () => {
  healthy = await startOrigin({ fault: 'healthy' });
  offline = await startOrigin({ fault: 'offline' });
});

after(async () => {
  await healthy?.close();
  await offline?.close();
});

/** Writes raw bytes on a fresh connection and collects what comes back until `until` matches or the socket ends. */
function raw(url: string, text: string, until?: RegExp, timeoutMs = 5000): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname, () => s.write(text));
    let data = '';
    const t = setTimeout(() => {
      s.destroy();
      resolve(data);
    }, timeoutMs);
    s.on('data', (d) => {
      data += d.toString('latin1');
      if (until?.test(data)) {
        clearTimeout(t);
        s.destroy();
        resolve(data);
      }
    });
    s.on('end', () => {
      clearTimeout(t);
      resolve(data);
    });
    s.on('error', reject);
  });
}

describe('WebSocket / Upgrade pass-through', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway(`
name: gw-ws
upstreams:
  app: { endpoints: ["${healthy.url}"] }
  down: { endpoints: ["${offline.url}"] }
routes:
  - { path: /down, upstream: down }
  - { path: /, upstream: app }
`);
  });
  after(() => gw.stop(100));

  test('the 101 comes back and bytes flow both ways through the tunnel', async () => {
    const key = 'dGhlIHNhbXBsZSBub25jZQ==';
    const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    const u = new URL(gw.url);
    const got = await new Promise<string>((resolve, reject) => {
      const s = connect(Number(u.port), u.hostname, () =>
        s.write(`GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nX-Request-Id: ws-1\r\n\r\n`),
      );
      let data = '';
      let pinged = false;
      s.on('data', (d) => {
        data += d.toString('latin1');
        if (!pinged && data.includes('\r\n\r\n')) {
          pinged = true;
          s.write('ping-through-the-tunnel');
        }
        if (data.includes('ping-through-the-tunnel')) {
          s.end();
          resolve(data);
        }
      });
      s.on('error', reject);
      setTimeout(() => reject(new Error(`no echo through the tunnel: ${data}`)), 5000).unref();
    });
    assert.match(got, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    assert.match(got, new RegExp(`sec-websocket-accept: ${accept.replace(/[+/]/g, '\\$&')}`, 'i'));
    assert.match(got, /via: 1\.1 gw-ws/i);
    assert.match(got, /ping-through-the-tunnel$/);
    const line = await gw.logFor('ws-1');
    assert.equal(line.status, 101);
    assert.equal(line.upstreamStatus, 101);
    assert.ok((line.bytes as number) >= 'ping-through-the-tunnel'.length, 'bytes from the origin are counted');
  });

  test('an origin that answers an upgrade without switching protocols: 502 http_upgrade_failed, its status in the log', { timeout: 15_000 }, async () => {
    // A plain HTTP server that has no WebSocket endpoint: it answers the upgrade with a 200.
    const plain = createServer((_req, res) => res.end('no websocket here'));
    plain.on('upgrade', (_req, socket: Socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 17\r\nconnection: close\r\n\r\nno websocket here'));
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    const port = (plain.address() as AddressInfo).port;
    const g = await startTestGateway(`
name: gw-ws2
upstreams: { app: { endpoints: ["http://127.0.0.1:${port}"] } }
routes: [{ path: /, upstream: app }]
`);
    try {
      const got = await raw(g.url, 'GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nX-Request-Id: ws-200\r\n\r\n', /\r\n\r\n[\s\S]+/);
      assert.match(got, /^HTTP\/1\.1 502 /);
      assert.match(got, /proxy-status: gw-ws2; error=http_upgrade_failed; details="upstream_refused_upgrade"/);
      const line = await g.logFor('ws-200');
      assert.equal(line.status, 502);
      assert.equal(line.upstreamStatus, 200);
    } finally {
      await g.stop(100);
      plain.close();
    }
  });

  test('an upgrade to a stopped origin gets an explained 502', async () => {
    const got = await raw(gw.url, 'GET /down HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    assert.match(got, /^HTTP\/1\.1 502 /);
    assert.match(got, /proxy-status: gw-ws; error=connection_refused/);
  });
});

describe('slow clients', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway(`
client: { header_timeout: 1s, request_timeout: 2s }
upstreams:
  app: { endpoints: ["${healthy.url}"] }
routes:
  - { path: /, upstream: app }
`);
  });
  after(() => gw.stop(100));

  test('a client that never finishes its headers gets 408 and the origin never sees it', async () => {
    const before = healthy.stats.requests;
    const got = await raw(gw.url, 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ', /\r\n\r\n/, 5000);
    assert.match(got, /^HTTP\/1\.1 408 /);
    assert.match(got, /error=http_request_error; details="client_request_timeout"/);
    assert.equal(healthy.stats.requests, before);
  });
});

describe('forwarding headers and trusted proxies', () => {
  let open: TestGateway;
  let trusting: TestGateway;
  before(async () => {
    const ups = `upstreams:\n  app: { endpoints: ["${healthy.url}"] }\nroutes:\n  - { path: /, upstream: app }\n`;
    open = await startTestGateway(ups);
    trusting = await startTestGateway(`forwarded: { trusted_proxies: ["127.0.0.0/8"] }\n${ups}`);
  });
  after(async () => {
    await open.stop(100);
    await trusting.stop(100);
  });

  async function echo(gw: TestGateway, headers: Record<string, string>): Promise<Record<string, string>> {
    const r = await send(`${gw.url}/echo`, { headers });
    assert.ok(r.ok);
    const body = JSON.parse(r.body) as EchoBody;
    return Object.fromEntries(body.headers.map(([k, v]) => [k.toLowerCase(), v]));
  }

  test('forged X-Forwarded-For from an untrusted peer is replaced', async () => {
    const h = await echo(open, { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', forwarded: 'for=6.6.6.6' });
    assert.equal(h['x-forwarded-for'], '127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.equal(h.forwarded?.includes('6.6.6.6'), false);
  });

  test('a trusted proxy’s chain is kept and extended, and the log names the real client', async () => {
    const h = await echo(trusting, { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https', 'x-request-id': 'trusted-1' });
    assert.equal(h['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'https');
    const line = await trusting.logFor('trusted-1');
    assert.equal(line.client, '203.0.113.9');
  });

  test('an invalid X-Request-Id is replaced by a generated one', async () => {
    const r = await send(`${open.url}/`, { headers: { 'x-request-id': 'bad id with spaces' } });
    assert.match(header(r, 'x-request-id'), /^[0-9a-f-]{36}$/);
  });
});

describe('graceful stop', () => {
  test('SIGTERM lets the in-flight request finish, refuses new ones, and exits 0', async () => {
    const slow = await startOrigin({ fault: 'slow', delayMs: 800 });
    try {
      const gw = await spawnGatewise(['serve', '--listen', '127.0.0.1:0', '--upstream', slow.url]);
      const inflight = send(`${gw.url}/`);
      await new Promise((r) => setTimeout(r, 200));
      const exit = gw.signal('SIGTERM');
      await new Promise((r) => setTimeout(r, 100));
      const late = await send(`${gw.url}/`);
      const first = await inflight;
      assert.ok(first.ok, `in-flight request completed: ${JSON.stringify(first)}`);
      assert.equal(first.status, 200);
      assert.equal(late.ok, false, 'no new connection is accepted while stopping');
      assert.equal(await exit, 0);
      assert.match(gw.output(), /gatewise stopped/);
    } finally {
      await slow.close();
    }
  });
});

describe('npm start demo', () => {
  test('prints the URLs; / works and /broken is an explained 502', async () => {
    const demo = await spawnGatewise(['demo', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0']);
    try {
      await new Promise((r) => setTimeout(r, 100));
      assert.match(demo.output(), /\/broken\s+fails/);
      const dashboard = /(http:\/\/127\.0\.0\.1:\d+)\/\s+the live dashboard/.exec(demo.output());
      assert.ok(dashboard, demo.output());
      const metrics = await send(`${dashboard[1]}/metrics`);
      assert.ok(metrics.ok && metrics.status === 200);
      const ok = await send(`${demo.url}/`);
      assert.ok(ok.ok);
      assert.equal(ok.status, 200);
      const broken = await send(`${demo.url}/broken`, { headers: { accept: 'text/html' } });
      assert.ok(broken.ok);
      assert.equal(broken.status, 502);
      assert.match(broken.body, /refused the connection/);
    } finally {
      assert.equal(await demo.signal('SIGINT'), 0);
    }
  });
});

describe('reload without a restart (SIGHUP)', () => {
  test('maintenance mode switched on and off by editing the file: 503 with Retry-After, then back; a bad file changes nothing', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'gatewise-reload-'));
    const file = join(dir, 'gatewise.yaml');
    const write = (maintenance: boolean): void =>
      writeFileSync(
        file,
        `listen: 127.0.0.1:0\nupstreams:\n  app: { endpoints: ["${healthy.url}"], maintenance: ${maintenance} }\nroutes:\n  - { path: /, upstream: app }\n`,
      );
    write(false);
    const gw = await spawnGatewise(['serve', '--config', file]);
    const reloaded = async (n: number): Promise<void> => {
      gw.proc.kill('SIGHUP');
      const deadline = Date.now() + 5000;
      while ((gw.output().match(/configuration reloaded|reload refused/g) ?? []).length < n) {
        assert.ok(Date.now() < deadline, `no reload logged:\n${gw.output()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    try {
      assert.equal((await send(`${gw.url}/`)).ok && (await send(`${gw.url}/`)).status, 200);
      write(true);
      await reloaded(1);
      const r = await send(`${gw.url}/`);
      assert.ok(r.ok);
      assert.equal(r.status, 503);
      assert.match(header(r, 'proxy-status'), /error=proxy_internal_response; details="maintenance"/);
      assert.match(header(r, 'retry-after'), /^\d+$/);
      writeFileSync(file, 'listen: [');
      await reloaded(2);
      assert.match(gw.output(), /reload refused/);
      assert.equal((await send(`${gw.url}/`)).ok && (await send(`${gw.url}/`)).status, 503, 'a bad file changes nothing');
      write(false);
      await reloaded(3);
      const back = await send(`${gw.url}/`);
      assert.ok(back.ok);
      assert.equal(back.status, 200);
    } finally {
      assert.equal(await gw.signal('SIGTERM'), 0);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('limits per try and per body', () => {
  test('retry.per_try_timeout gives up on a slow endpoint and retries a GET on another', async () => {
    const slow = await startOrigin({ fault: 'slow', delayMs: 3000 });
    const gw = await startTestGateway(`
upstreams:
  app:
    endpoints: ["${slow.url}", "${healthy.url}"]
    retry: { per_try_timeout: 200ms }
routes:
  - { path: /, upstream: app }
`);
    try {
      // Round robin starts with the slow one for one of two consecutive requests.
      for (const id of ['pt-1', 'pt-2']) {
        const r = await send(`${gw.url}/`, { headers: { 'x-request-id': id } });
        assert.ok(r.ok);
        assert.equal(r.status, 200);
      }
      const lines = await Promise.all(['pt-1', 'pt-2'].map((id) => gw.logFor(id)));
      const retried = lines.find((l) => l.attempts === 2);
      assert.ok(retried, JSON.stringify(lines));
      const tries = retried.tries as { error: { detail: string } | null }[];
      assert.equal(tries[0]!.error?.detail, 'per_try_timeout');
      assert.equal(tries[1]!.error, null);
    } finally {
      await gw.stop(100);
      await slow.close();
    }
  });

  test('a response_header limit above 1 s fires when it says, not on a coarse tick', async () => {
    const slow = await startOrigin({ fault: 'slow', delayMs: 5000 });
    const gw = await startTestGateway(`
timeouts: { response_header: 1200ms }
upstreams:
  app: { endpoints: ["${slow.url}"], retry: { tries: 1 } }
routes:
  - { path: /, upstream: app }
`);
    try {
      for (const id of ['rh-1', 'rh-2', 'rh-3']) {
        const r = await send(`${gw.url}/`, { headers: { 'x-request-id': id } });
        assert.ok(r.ok);
        assert.equal(r.status, 504);
        assert.match(header(r, 'proxy-status'), /error=http_response_timeout; details="response_header_timeout"/);
        const line = await gw.logFor(id);
        // undici's own timer (a 500 ms tick above 1 s) answered 1,200 ms limits at ~1,500 ms.
        const ms = line.durationMs as number;
        assert.ok(ms >= 1195 && ms < 1400, `answered after ${ms} ms`);
      }
    } finally {
      await gw.stop(100);
      await slow.close();
    }
  });

  test('the response_header wait starts when the upload ends: a slow upload is not a slow origin', async () => {
    const gw = await startTestGateway(`
timeouts: { response_header: 1200ms }
upstreams:
  app: { endpoints: ["${healthy.url}"] }
routes:
  - { path: /, upstream: app }
`);
    try {
      // 160 KiB (streamed: over retry.buffer_body) sent over ~2 s, longer than the limit.
      const chunk = Buffer.alloc(8192, 1);
      const u = new URL(`${gw.url}/echo`);
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-length': String(chunk.length * 20) } }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject);
        let sent = 0;
        const next = (): void => {
          if (sent++ === 20) req.end();
          else req.write(chunk, () => setTimeout(next, 100));
        };
        next();
      });
      assert.equal(answer.status, 200, answer.body.slice(0, 300));
      assert.equal((JSON.parse(answer.body) as EchoBody).bodyBytes, chunk.length * 20);
    } finally {
      await gw.stop(100);
    }
  });

  test('an idle limit above 1 s fires when it says, in the middle of the body', async () => {
    const drip = await startOrigin({ fault: 'drip', intervalMs: 5000, bodyBytes: 5 });
    const gw = await startTestGateway(`
timeouts: { idle: 1200ms }
upstreams:
  app: { endpoints: ["${drip.url}"] }
routes:
  - { path: /, upstream: app }
`);
    try {
      const r = await send(`${gw.url}/`, { headers: { 'x-request-id': 'idle-1' } });
      assert.equal(r.ok, false, 'the client sees the response cut');
      const line = await gw.logFor('idle-1');
      assert.equal(line.error?.type, 'connection_read_timeout');
      assert.equal(line.error?.detail, 'body_idle_timeout');
      const ms = line.durationMs as number;
      assert.ok(ms >= 1195 && ms < 1400, `cut after ${ms} ms`);
    } finally {
      await gw.stop(100);
      await drip.close();
    }
  });

  test('a body over limits.max_request_body_bytes gets 413 and never reaches the origin', async () => {
    const gw = await startTestGateway(`
limits: { max_request_body_bytes: 1kb }
upstreams:
  app: { endpoints: ["${healthy.url}"] }
routes:
  - { path: /, upstream: app }
`);
    try {
      const before = healthy.stats.requests;
      const r = await send(`${gw.url}/echo`, { method: 'POST', body: Buffer.alloc(4096, 1) });
      assert.ok(r.ok);
      assert.equal(r.status, 413);
      assert.match(header(r, 'proxy-status'), /error=http_request_error; details="request_body_too_large"/);
      assert.equal(healthy.stats.requests, before);
      const small = await send(`${gw.url}/echo`, { method: 'POST', body: Buffer.alloc(512, 1) });
      assert.ok(small.ok && small.status === 200);
    } finally {
      await gw.stop(100);
    }
  });
});

describe('limits.max_response_body_bytes', () => {
  let gw: TestGateway;
  let chunked: ReturnType<typeof createServer>;
  before(async () => {
    // Sends 4 KiB without a Content-Length, in 1 KiB chunks: only counting can catch it.
    chunked = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      let n = 0;
      const next = (): void => {
        if (n++ === 4) res.end();
        else res.write(Buffer.alloc(1024, 7), () => setTimeout(next, 5));
      };
      next();
    });
    await new Promise<void>((r) => chunked.listen(0, '127.0.0.1', r));
    gw = await startTestGateway(`
limits: { max_response_body_bytes: 2kb }
upstreams:
  app: { endpoints: ["${healthy.url}"] }
  chunked: { endpoints: ["http://127.0.0.1:${(chunked.address() as AddressInfo).port}"] }
routes:
  - { path: /chunked, upstream: chunked }
  - { path: /, upstream: app }
`);
  });
  after(async () => {
    await gw?.stop(100);
    chunked?.close();
  });

  test('a body announced over the limit is refused before its headers: explained 502, not retried', async () => {
    const before = healthy.stats.requests;
    const r = await send(`${gw.url}/bytes/4096`, { headers: { 'x-request-id': 'rb-big' } });
    assert.ok(r.ok);
    assert.equal(r.status, 502);
    assert.match(header(r, 'proxy-status'), /error=http_response_body_size; details="response_body_too_large"/);
    assert.equal(healthy.stats.requests, before + 1, 'one try: another would get the same body');
    const line = await gw.logFor('rb-big');
    assert.equal(line.error?.stage, 'headers');
    assert.match(line.error?.message ?? '', /4096 bytes, over limits\.max_response_body_bytes \(2048\)/);
    const head = await send(`${gw.url}/bytes/4096`, { method: 'HEAD' });
    assert.ok(head.ok);
    assert.equal(head.status, 200, 'a HEAD announces a length it does not send');
    const small = await send(`${gw.url}/bytes/2048`);
    assert.ok(small.ok);
    assert.equal(small.status, 200);
    assert.equal(small.body.length, 2048);
  });

  test('a body without Content-Length is cut once it passes the limit, and logged as such', async () => {
    const r = await send(`${gw.url}/chunked`, { headers: { 'x-request-id': 'rb-chunked' } });
    assert.equal(r.ok, false, `the client must see the response cut, got ${JSON.stringify(r).slice(0, 300)}`);
    const line = await gw.logFor('rb-chunked');
    assert.equal(line.error?.type, 'http_response_body_size');
    assert.equal(line.error?.stage, 'body');
    assert.ok((line.bytes as number) <= 2048, `forwarded ${line.bytes} bytes`);
  });
});

describe('circuit breaker', () => {
  test('opens after consecutive failures, fails fast while open, lets one probe through when half-open', async () => {
    const gw = await startTestGateway(`
upstreams:
  app:
    endpoints: ["${healthy.url}"]
    breaker: { consecutive_failures: 3, failure_ratio: 0, open: 300ms }
routes:
  - { path: /, upstream: app }
`);
    try {
      for (let i = 0; i < 3; i++) {
        const r = await send(`${gw.url}/status/500`);
        assert.ok(r.ok);
        assert.equal(r.status, 500, 'the origin’s own 500s pass through while the circuit is closed');
      }
      const seen = healthy.stats.requests;
      const fast = await send(`${gw.url}/status/500`);
      assert.ok(fast.ok);
      assert.equal(fast.status, 503);
      assert.match(header(fast, 'proxy-status'), /error=destination_unavailable; details="circuit_open"/);
      assert.equal(healthy.stats.requests, seen, 'an open circuit sends nothing to the origin');
      await new Promise((r) => setTimeout(r, 350));
      const probe = await send(`${gw.url}/status/200`);
      assert.ok(probe.ok);
      assert.equal(probe.status, 200, 'half-open: one probe goes through, and its success closes the circuit');
      const after = await send(`${gw.url}/status/200`);
      assert.equal(after.ok && after.status, 200);
    } finally {
      await gw.stop(100);
    }
  });
});

describe('an origin that answers before reading the upload', () => {
  test('the rest of the body is dropped and the client’s keep-alive connection carries the next request', async () => {
    const { createServer, request: httpRequest, Agent } = await import('node:http');
    const early = createServer((_req, res) => {
      res.writeHead(201, { 'content-length': '2' });
      res.end('ok');
    });
    await new Promise<void>((r) => early.listen(0, '127.0.0.1', r));
    const port = (early.address() as { port: number }).port;
    const gw = await startTestGateway(`upstreams:\n  app: { endpoints: ["http://127.0.0.1:${port}"] }\nroutes:\n  - { path: /, upstream: app }\n`);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const sockets = new Set<unknown>();
      for (let i = 0; i < 3; i++) {
        const status = await new Promise<number>((resolve, reject) => {
          const req = httpRequest(`${gw.url}/upload`, { method: 'POST', agent, headers: { 'content-length': String(1 << 20) } }, (res) => {
            sockets.add(res.socket);
            res.resume();
            res.on('end', () => resolve(res.statusCode!));
          });
          req.on('error', reject);
          req.end(Buffer.alloc(1 << 20));
        });
        assert.equal(status, 201);
      }
      assert.equal(sockets.size, 1, 'the three uploads went over one kept-alive connection');
    } finally {
      agent.destroy();
      await gw.stop(100);
      early.close();
    }
  });
});
