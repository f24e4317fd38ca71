// Every error type the gateway can produce over HTTP/1.1, each from a real misbehaving
// origin on loopback, asserted from the client's side: status, Proxy-Status, the page,
// and the access-log line.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { parseProxyStatus } from '../src/errors/proxy-status.ts';
import { type DnsMode, startDnsServer } from '../src/lab/dns-server.ts';
import { type EchoBody, type FaultOptions, type RunningOrigin, startOrigin } from '../src/lab/origin.ts';
import { loadTlsFixture, TLS_CERT_PATH } from '../src/lab/tls-fixture.ts';
import { type ClientResult, header, send } from './helpers/client.ts';
import { type TestGateway, startTestGateway } from './helpers/start-gateway.ts';

const origins: Record<string, RunningOrigin> = {};
let gw: TestGateway;
let dns: Awaited<ReturnType<typeof startDnsServer>>;
/** A TLS origin that demands a client certificate the gateway does not have: it ends the handshake with an alert. */
let mtls: tls.Server;

const FAULTS: Record<string, FaultOptions> = {
  healthy: { fault: 'healthy' },
  refused: { fault: 'offline' },
  acceptclose: { fault: 'accept-close' },
  resetheaders: { fault: 'reset-headers' },
  resetbody: { fault: 'reset-body', bodyBytes: 100_000, afterMs: 50 },
  slow: { fault: 'slow', delayMs: 5000 },
  blackhole: { fault: 'blackhole' },
  huge: { fault: 'huge-headers', headerBytes: 64 * 1024 },
  garbage: { fault: 'garbage' },
  chunking: { fault: 'bad-chunking' },
  drip: { fault: 'drip', intervalMs: 1000, bodyBytes: 10 },
  terminate: { fault: 'terminate', afterMs: 100 },
  tls: { fault: 'tls-bad-cert' },
};

before(async () => {
  for (const [k, f] of Object.entries(FAULTS)) origins[k] = await startOrigin(f);
  dns = await startDnsServer({ records: { 'app.lab.test': ['127.0.0.1'] }, ttl: 1 });
  // TLS 1.2, so the refusal comes in the handshake (TLS 1.3 sends it after the client's first flight).
  mtls = tls.createServer({ ...loadTlsFixture(), requestCert: true, rejectUnauthorized: true, maxVersion: 'TLSv1.2' }, (s) => s.end());
  mtls.on('tlsClientError', () => {});
  await new Promise<void>((r) => mtls.listen(0, '127.0.0.1', r));
  const ups = Object.entries(origins)
    .map(([k, o]) => `  ${k}: { endpoints: ["${o.url}"] }`)
    .join('\n');
  const routes = Object.keys(origins)
    .map((k) => `  - { path: /${k}, upstream: ${k}, strip_prefix: true }`)
    .join('\n');
  gw = await startTestGateway(`
name: gw-test
resolver: { servers: ["${dns.address}"], timeout: 300ms, tries: 1 }
timeouts: { connect: 300ms, response_header: 500ms, idle: 300ms, total: 10s }
upstreams:
${ups}
  unresolvable: { endpoints: ["http://nowhere.lab.test:${origins.healthy!.port}"] }
  named:
    endpoints: ["http://app.lab.test:${origins.healthy!.port}"]
    # Every request looks the name up afresh: no pooled connection, no cached or stale answer.
    keep_alive: { idle: 1ms }
    dns: { min_ttl: 1ms, max_ttl: 1ms, stale: 1ms }
  cleartext: { endpoints: ["https://127.0.0.1:${origins.healthy!.port}"] }
  mtls:
    endpoints: ["https://127.0.0.1:${(mtls.address() as AddressInfo).port}"]
    tls: { ca: ${TLS_CERT_PATH}, servername: localhost }
routes:
${routes}
  - { path: /unresolvable, upstream: unresolvable }
  - { path: /named, upstream: named }
  - { path: /cleartext, upstream: cleartext }
  - { path: /mtls, upstream: mtls }
`);
});

after(async () => {
  await gw?.stop(100);
  await dns?.close();
  mtls?.close();
  await Promise.all(Object.values(origins).map((o) => o.close()));
});

function proxyStatus(r: ClientResult): ReturnType<typeof parseProxyStatus> {
  return parseProxyStatus(header(r, 'proxy-status'));
}

/** The full contract of an explained error: status, Proxy-Status member, page, access-log line. */
async function expectExplained(path: string, status: number, type: string, stage?: string): Promise<void> {
  const r = await send(`${gw.url}${path}`);
  assert.ok(r.ok, `expected a complete error response for ${path}, got ${JSON.stringify(r)}`);
  assert.equal(r.status, status, r.body);
  const members = proxyStatus(r);
  const ours = members.at(-1)!;
  assert.equal(ours.name, 'gw-test');
  assert.equal(ours.params.error, type);
  assert.ok(typeof ours.params.details === 'string' && ours.params.details.length > 0);
  assert.match(header(r, 'content-type'), /^text\/plain/);
  assert.match(r.body, new RegExp(`^${status} `));
  assert.match(r.body, new RegExp(type));
  const id = header(r, 'x-request-id');
  assert.ok(id, 'x-request-id returned');
  assert.ok(r.body.includes(id), 'the page names the request id');
  const line = await gw.logFor(id);
  assert.equal(line.status, status);
  assert.equal(line.error?.type, type);
  if (stage) assert.equal(line.error?.stage, stage);
  // No internal address reaches the visitor unless the operator allows it.
  assert.doesNotMatch(r.body, /127\.0\.0\.1/);
}

/** A failure after the response started: the client connection is cut, never a clean short body. */
async function expectCut(path: string, type: string): Promise<void> {
  const r = await send(`${gw.url}${path}`, { headers: { 'x-request-id': `cut-${path.slice(1)}` } });
  assert.equal(r.ok, false, `the client must see the response cut, got ${JSON.stringify(r).slice(0, 300)}`);
  const line = await gw.logFor(`cut-${path.slice(1)}`);
  assert.equal(line.error?.type, type);
  assert.equal(line.error?.stage, 'body');
}

describe('proxied success', () => {
  test('a healthy origin answers through the gateway, with Via, Proxy-Status and X-Request-Id', async () => {
    const r = await send(`${gw.url}/healthy/echo`, { headers: { 'x-request-id': 'abc-123', connection: 'keep-alive, x-secret', 'x-secret': '1' } });
    assert.ok(r.ok);
    assert.equal(r.status, 200);
    assert.equal(header(r, 'x-request-id'), 'abc-123');
    assert.match(header(r, 'via'), /1\.1 gw-test$/);
    const ps = proxyStatus(r).at(-1)!;
    assert.equal(ps.name, 'gw-test');
    assert.equal(ps.params['received-status'], 200);
    assert.equal(ps.params['next-hop'], 'healthy');
    const echo = JSON.parse(r.body) as EchoBody;
    const seen = normalise(echo.headers);
    assert.equal(seen['x-request-id'], 'abc-123');
    assert.equal(seen['x-secret'], undefined, 'a header named in Connection is hop-by-hop');
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen['x-forwarded-proto'], 'http');
    assert.match(seen.forwarded ?? '', /^for=127\.0\.0\.1;proto=http;host="127\.0\.0\.1:\d+"$/);
    assert.match(seen.via ?? '', /^1\.1 gw-test$/);
    const line = await gw.logFor('abc-123');
    assert.equal(line.status, 200);
    assert.equal(line.upstreamStatus, 200);
    assert.equal(line.route, '/healthy');
    assert.equal(line.error, undefined);
  });

  test('an upstream host name resolved through the configured resolver', async () => {
    const r = await send(`${gw.url}/named`);
    assert.ok(r.ok);
    assert.equal(r.status, 200);
  });
});

function normalise(pairs: [string, string][]): Record<string, string> {
  return Object.fromEntries(pairs.map(([k, v]) => [k.toLowerCase(), v]));
}

describe('failures before the response: explained 5xx', () => {
  test('refused port → 502 connection_refused', () => expectExplained('/refused', 502, 'connection_refused', 'connect'));
  test('accept then close → 502 connection_terminated', () => expectExplained('/acceptclose', 502, 'connection_terminated'));
  test('reset before headers → 502 connection_terminated', () => expectExplained('/resetheaders', 502, 'connection_terminated'));
  test('never answers → 504 http_response_timeout', () => expectExplained('/slow', 504, 'http_response_timeout', 'headers'));
  test('firewall drops packets → 504 connection_timeout', () => expectExplained('/blackhole', 504, 'connection_timeout', 'connect'));
  test('header section over the limit → 502 http_response_header_section_size', () =>
    expectExplained('/huge', 502, 'http_response_header_section_size', 'headers'));
  test('garbage status line → 502 http_protocol_error', () => expectExplained('/garbage', 502, 'http_protocol_error', 'headers'));
  test('unresolvable name → 502 dns_error with rcode', async () => {
    await expectExplained('/unresolvable', 502, 'dns_error', 'dns');
    const r = await send(`${gw.url}/unresolvable`);
    assert.equal(proxyStatus(r).at(-1)!.params.rcode, 'NXDOMAIN');
  });
  test('TLS spoken to a cleartext port → 502 tls_protocol_error', () => expectExplained('/cleartext', 502, 'tls_protocol_error', 'tls'));
  test('TLS origin with a bad certificate → 502 tls_certificate_error', () =>
    expectExplained('/tls', 502, 'tls_certificate_error', 'tls'));
  test('TLS origin that demands a client certificate → 502 tls_alert_received, the alert named', async () => {
    await expectExplained('/mtls', 502, 'tls_alert_received', 'tls');
    const r = await send(`${gw.url}/mtls`);
    const params = proxyStatus(r).at(-1)!.params;
    assert.equal(params['alert-id'], 40, header(r, 'proxy-status'));
    assert.equal(params['alert-message'], 'handshake failure');
  });
});

describe('DNS resolver failures', () => {
  for (const [mode, status, type] of [
    ['servfail', 502, 'dns_error'],
    ['timeout', 504, 'dns_timeout'],
  ] as [DnsMode, number, string][]) {
    test(`resolver ${mode} → ${status} ${type}`, async () => {
      dns.setMode(mode);
      // The pool re-resolves its names as they expire (every 1 ms here), and a lookup joins
      // the query in flight: wait until the server has been asked in the new mode, so no
      // answer given before the switch can serve the request.
      const asked = dns.queries;
      for (let i = 0; i < 50 && dns.queries < asked + 2; i++) await new Promise((r) => setTimeout(r, 10));
      try {
        await expectExplained('/named', status, type, 'dns');
      } finally {
        dns.setMode('answer');
      }
    });
  }
});

describe('failures after the response started: the client connection is aborted', () => {
  test('reset mid-body → http_response_incomplete', () => expectCut('/resetbody', 'http_response_incomplete'));
  test('terminated mid-body → http_response_incomplete', () => expectCut('/terminate', 'http_response_incomplete'));
  test('invalid chunked encoding → http_response_transfer_coding', () => expectCut('/chunking', 'http_response_transfer_coding'));
  test('origin stalls mid-body → connection_read_timeout', () => expectCut('/drip', 'connection_read_timeout'));
});

describe('requests that never reach an origin', () => {
  test('a loop through Via → 502 proxy_loop_detected', async () => {
    const r = await send(`${gw.url}/healthy`, { headers: { via: '1.1 edge, 1.1 gw-test' } });
    assert.ok(r.ok);
    assert.equal(r.status, 502);
    assert.equal(proxyStatus(r).at(-1)!.params.error, 'proxy_loop_detected');
  });

  test('no route → 404 destination_not_found', async () => {
    const r = await send(`${gw.url}/nothing-here`);
    assert.ok(r.ok);
    assert.equal(r.status, 404);
    assert.equal(proxyStatus(r).at(-1)!.params.error, 'destination_not_found');
  });

  test('a malformed request → 400 http_request_error, and the origin never sees it', async () => {
    const before = origins.healthy!.stats.requests;
    const { connect } = await import('node:net');
    const url = new URL(gw.url);
    const raw = await new Promise<string>((resolve, reject) => {
      const s = connect(Number(url.port), url.hostname, () => s.write('GET /healthy HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'));
      let data = '';
      s.on('data', (d) => {
        data += d.toString();
      });
      s.on('end', () => resolve(data));
      s.on('error', reject);
    });
    assert.match(raw, /^HTTP\/1\.1 400 /);
    assert.match(raw, /proxy-status: gw-test; error=http_request_error/);
    assert.equal(origins.healthy!.stats.requests, before);
    // Access lines leave in batches, at most 50 ms after they were logged.
    const find = () => gw.lines.find((l) => l.status === 400 && l.error?.type === 'http_request_error');
    for (let i = 0; i < 50 && !find(); i++) await new Promise((r) => setTimeout(r, 20));
    const line = find();
    assert.ok(line, 'the malformed request has its access-log line');
  });
});

describe('content negotiation of the error page', () => {
  test('a browser gets HTML with the failed hop marked', async () => {
    const r = await send(`${gw.url}/refused`, { headers: { accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8' } });
    assert.ok(r.ok);
    assert.match(header(r, 'content-type'), /^text\/html/);
    assert.match(r.body, /data-link="gateway-origin"[^>]*data-state="failed"|data-state="failed"[^>]*data-link="gateway-origin"/);
  });

  test('an API client gets application/problem+json', async () => {
    const r = await send(`${gw.url}/refused`, { headers: { accept: 'application/json' } });
    assert.ok(r.ok);
    assert.match(header(r, 'content-type'), /^application\/problem\+json/);
    const p = JSON.parse(r.body) as { status: number; proxy_status: string; request_id: string };
    assert.equal(p.status, 502);
    assert.equal(p.proxy_status, 'connection_refused');
    assert.equal(p.request_id, header(r, 'x-request-id'));
  });
});
