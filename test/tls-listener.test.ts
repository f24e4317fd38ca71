// A listener that terminates TLS: requests over HTTPS reach the origin marked as such, errors
// are explained over TLS too, bad certificate files are configuration errors, and a reload
// serves a renewed certificate without a restart.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as connectTcp } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { ConfigError, parseConfigText } from '../src/config/load.ts';
import { parseMetrics, sumBy } from './helpers/prom.ts';
import { type EchoBody, type RunningOrigin, startOrigin } from '../src/lab/origin.ts';
import { TLS_CERT_PATH, TLS_KEY_PATH, loadTlsFixture } from '../src/lab/tls-fixture.ts';
import { header, send } from './helpers/client.ts';
import { type TestGateway, startTestGateway } from './helpers/start-gateway.ts';

let healthy: RunningOrigin;
let offline: RunningOrigin;
let dir: string;

before(async () => {
  healthy = await startOrigin({ fault: 'healthy' });
  offline = await startOrigin({ fault: 'offline' });
  dir = mkdtempSync(join(tmpdir(), 'gw-tls-'));
});

after(async () => {
  await healthy?.close();
  await offline?.close();
  rmSync(dir, { recursive: true, force: true });
});

const config = (cert: string, key: string): string => `
listen:
  - 127.0.0.1:0
  - { address: 127.0.0.1:0, tls: { cert: ${cert}, key: ${key} } }
upstreams:
  app: { endpoints: ["${healthy.url}"] }
  down: { endpoints: ["${offline.url}"] }
routes:
  - { path: /down, upstream: down }
  - { path: /, upstream: app }
`;

const tlsUrl = (gw: TestGateway): string => `https://localhost:${gw.addresses[1]!.port}`;
const trust = { ca: loadTlsFixture().cert, servername: 'localhost' };

/** A new self-signed certificate for `names` (the first is the CN), written as `file`.crt/.key in the test's directory. */
function issue(file: string, names: string[]): { cert: string; key: string } {
  const cert = join(dir, `${file}.crt`);
  const key = join(dir, `${file}.key`);
  const san = names.map((n) => `DNS:${n}`).join(',');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '30', '-subj', `/CN=${names[0]}`, '-addext', `subjectAltName=${san}`], { stdio: 'ignore' });
  return { cert, key };
}

/** The SHA-256 fingerprint of the certificate a fresh handshake with `port`, naming `servername`, gets. */
function fingerprint(port: number, servername = 'localhost'): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connectTls({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.end();
    });
    s.on('error', reject);
  });
}

describe('a TLS listener beside a cleartext one', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway(config(TLS_CERT_PATH, TLS_KEY_PATH));
  });
  after(() => gw?.stop(100));

  test('HTTPS reaches the origin with X-Forwarded-Proto and Forwarded proto=https; clear text says http', async () => {
    const r = await send(`${tlsUrl(gw)}/echo`, trust);
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.status, 200);
    assert.match(header(r, 'proxy-status'), /received-status=200/);
    const seen = Object.fromEntries((JSON.parse(r.body) as EchoBody).headers.map(([k, v]) => [k.toLowerCase(), v]));
    assert.equal(seen['x-forwarded-proto'], 'https');
    assert.match(seen.forwarded ?? '', /proto=https;host="localhost:\d+"/);
    const plain = await send(`${gw.url}/echo`);
    assert.ok(plain.ok);
    const plainSeen = Object.fromEntries((JSON.parse(plain.body) as EchoBody).headers.map(([k, v]) => [k.toLowerCase(), v]));
    assert.equal(plainSeen['x-forwarded-proto'], 'http');
  });

  test('a failure is explained over TLS: 502 connection_refused with its page and log line', async () => {
    const r = await send(`${tlsUrl(gw)}/down`, { ...trust, headers: { accept: 'text/html', 'x-request-id': 'tls-down' } });
    assert.ok(r.ok);
    assert.equal(r.status, 502);
    assert.match(header(r, 'proxy-status'), /error=connection_refused/);
    assert.match(r.body, /<html/i);
    assert.equal((await gw.logFor('tls-down')).error?.type, 'connection_refused');
  });

  test('a client that does not trust the certificate is refused; the gateway serves on', async () => {
    const untrusted = await send(`${tlsUrl(gw)}/`);
    assert.equal(untrusted.ok, false);
    assert.equal((untrusted as { code: string }).code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    const r = await send(`${tlsUrl(gw)}/`, trust);
    assert.ok(r.ok);
    assert.equal(r.status, 200);
  });
});

describe('plain HTTP sent to a TLS port', () => {
  for (const http2 of [false, true]) {
    test(`gets a 400 in clear that says to use https://, and a log line; handshake failures are counted (http2: ${http2})`, async () => {
      const gw = await startTestGateway(`
admin: { listen: "127.0.0.1:0" }
listen: [{ address: 127.0.0.1:0, tls: { cert: ${TLS_CERT_PATH}, key: ${TLS_KEY_PATH}, http2: ${http2} } }]
upstreams:
  app: { endpoints: ["${healthy.url}"] }
routes:
  - { path: /, upstream: app }
`);
      try {
        const before = healthy.stats.requests;
        const clear = await send(`http://127.0.0.1:${gw.addresses[0]!.port}/`, { headers: { accept: 'text/plain' }, timeoutMs: 3000 });
        assert.ok(clear.ok, JSON.stringify(clear));
        assert.equal(clear.status, 400);
        assert.match(header(clear, 'proxy-status'), /error=http_request_error; details="plain_http_to_tls_port"/);
        const id = header(clear, 'x-request-id');
        const line = await gw.logFor(id);
        assert.equal(line.error?.detail, 'plain_http_to_tls_port');
        assert.match(line.error?.message ?? '', /use https:\/\//);
        assert.equal(healthy.stats.requests, before, 'it never reaches the origin');
        const r = await send(`https://localhost:${gw.addresses[0]!.port}/`, trust);
        assert.ok(r.ok && r.status === 200);
        // Bytes that are neither HTTP nor a TLS record: another handshake failure, another reason.
        const junk = connectTcp(gw.addresses[0]!.port, '127.0.0.1', () => junk.write('\x00\x01\x02\x03 not a handshake\r\n\r\n'));
        junk.on('error', () => {});
        await new Promise<void>((done) => junk.once('close', () => done()));
        const listener = `127.0.0.1:${gw.addresses[0]!.port}`;
        const failures = sumBy(parseMetrics(await (await fetch(`${gw.observe.admin!.url}/metrics`)).text()), 'gatewise_tls_handshake_failures_total', 'reason', { listener });
        assert.equal(failures.get('http_request'), 1, JSON.stringify([...failures]));
        assert.equal([...failures.values()].reduce((a, b) => a + b, 0), 2, JSON.stringify([...failures]));
      } finally {
        await gw.stop(100);
      }
    });
  }
});

describe('certificate files', () => {
  test('a missing file or a key that belongs to another certificate is a configuration error at its line', () => {
    const issues = (text: string) => {
      try {
        parseConfigText(text, 'gw.yaml');
      } catch (err) {
        if (err instanceof ConfigError) return err.issues;
      }
      assert.fail('expected a ConfigError');
    };
    const missing = issues(config(join(dir, 'nope.crt'), TLS_KEY_PATH));
    assert.equal(missing.length, 1);
    assert.equal(missing[0]!.line, 4);
    assert.equal(missing[0]!.path, 'listen[1].tls.cert');
    assert.match(missing[0]!.message, /certificate file ".*nope\.crt" does not exist/);
    const otherKey = join(dir, 'other.key');
    writeFileSync(otherKey, generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const mismatch = issues(config(TLS_CERT_PATH, otherKey));
    assert.equal(mismatch[0]!.path, 'listen[1].tls');
    assert.match(mismatch[0]!.message, /does not belong to the certificate/);
    assert.match(mismatch[0]!.hint ?? '', /the key it was issued for/);
  });

  test('a reload serves a renewed certificate to new connections, without a restart', async () => {
    const cert = join(dir, 'site.crt');
    const key = join(dir, 'site.key');
    copyFileSync(TLS_CERT_PATH, cert);
    copyFileSync(TLS_KEY_PATH, key);
    const gw = await startTestGateway(config(cert, key));
    try {
      const port = gw.addresses[1]!.port;
      const before = await fingerprint(port);
      issue('site', ['localhost']);
      assert.equal(await fingerprint(port), before, 'nothing changes before the reload');
      const warnings = await gw.reload(parseConfigText(config(cert, key), 'gw.yaml').config);
      // The test gateway logs JSON whatever the file says, hence a log warning; none other.
      assert.deepEqual(
        warnings.filter((w) => !w.startsWith('log:')),
        [],
      );
      const after = await fingerprint(port);
      assert.notEqual(after, before);
      const r = await send(`https://localhost:${port}/`, { ca: readFileSync(cert), servername: 'localhost' });
      assert.ok(r.ok && r.status === 200, JSON.stringify(r));
    } finally {
      await gw.stop(100);
    }
  });
});

describe('several sites on one port (SNI)', () => {
  /** The CN of the certificate a handshake naming `servername` gets. */
  const presented = (port: number, servername: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const s = connectTls({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
        resolve(String(s.getPeerCertificate().subject.CN));
        s.end();
      });
      s.on('error', reject);
    });

  for (const http2 of [false, true]) {
    test(`each name gets its certificate, a wildcard one level up, any other the listener's own (http2: ${http2})`, async () => {
      const a = issue(`a-${http2}`, ['a.test']);
      const b = issue(`b-${http2}`, ['*.b.test']);
      const gw = await startTestGateway(`
listen:
  - address: 127.0.0.1:0
    tls: { cert: ${TLS_CERT_PATH}, key: ${TLS_KEY_PATH}, http2: ${http2}, sni: [{ cert: ${a.cert}, key: ${a.key} }, { cert: ${b.cert}, key: ${b.key} }] }
upstreams:
  app: { endpoints: ["${healthy.url}"] }
routes:
  - { path: /, upstream: app }
`);
      try {
        const port = gw.addresses[0]!.port;
        assert.equal(await presented(port, 'a.test'), 'a.test');
        assert.equal(await presented(port, 'A.Test'), 'a.test');
        assert.equal(await presented(port, 'www.b.test'), '*.b.test');
        assert.equal(await presented(port, 'deep.www.b.test'), 'localhost', 'a wildcard covers one level only');
        assert.equal(await presented(port, 'other.test'), 'localhost');
        const r = await send(`https://127.0.0.1:${port}/`, { ca: readFileSync(a.cert), servername: 'a.test', headers: { host: 'a.test' } });
        assert.ok(r.ok && r.status === 200, JSON.stringify(r));
      } finally {
        await gw.stop(100);
      }
    });
  }

  test('a reload serves the renewed certificate of an SNI name', async () => {
    const a = issue('renew-a', ['a.test']);
    const text = `
listen: [{ address: 127.0.0.1:0, tls: { cert: ${TLS_CERT_PATH}, key: ${TLS_KEY_PATH}, sni: [{ cert: ${a.cert}, key: ${a.key} }] } }]
upstreams:
  app: { endpoints: ["${healthy.url}"] }
routes:
  - { path: /, upstream: app }
`;
    const gw = await startTestGateway(text);
    try {
      const port = gw.addresses[0]!.port;
      const before = await fingerprint(port, 'a.test');
      issue('renew-a', ['a.test']);
      assert.equal(await fingerprint(port, 'a.test'), before, 'nothing changes before the reload');
      await gw.reload(parseConfigText(text, 'gw.yaml').config);
      assert.notEqual(await fingerprint(port, 'a.test'), before);
      assert.equal(await presented(port, 'a.test'), 'a.test');
    } finally {
      await gw.stop(100);
    }
  });

  test('two certificates for one name are a configuration error', () => {
    const one = issue('dup-1', ['c.test']);
    const two = issue('dup-2', ['c.test', 'd.test']);
    let issues: { path: string; message: string }[] = [];
    try {
      parseConfigText(
        `listen: [{ address: 127.0.0.1:0, tls: { cert: ${TLS_CERT_PATH}, key: ${TLS_KEY_PATH}, sni: [{ cert: ${one.cert}, key: ${one.key} }, { cert: ${two.cert}, key: ${two.key} }] } }]\nupstreams: { app: { endpoints: ["${healthy.url}"] } }\nroutes: [{ upstream: app }]\n`,
        'gw.yaml',
      );
    } catch (err) {
      if (err instanceof ConfigError) issues = err.issues;
    }
    assert.equal(issues.length, 1, JSON.stringify(issues));
    assert.equal(issues[0]!.path, 'listen[0].tls.sni[1]');
    assert.match(issues[0]!.message, /c\.test is also in sni\[0\]'s certificate/);
  });
});

describe('stopping', () => {
  for (const http2 of [false, true]) {
    test(`a connection that never starts its handshake does not hold a stop (http2: ${http2})`, { timeout: 20_000 }, async () => {
      const gw = await startTestGateway(`
listen: [{ address: 127.0.0.1:0, tls: { cert: ${TLS_CERT_PATH}, key: ${TLS_KEY_PATH}, http2: ${http2} } }]
upstreams:
  app: { endpoints: ["${healthy.url}"] }
routes:
  - { path: /, upstream: app }
`);
      const silent = connectTcp(gw.addresses[0]!.port, '127.0.0.1');
      await new Promise<void>((r) => silent.once('connect', () => r()));
      const closed = new Promise<void>((r) => silent.once('close', () => r()));
      silent.on('error', () => {});
      const t0 = performance.now();
      await gw.stop(100);
      await closed;
      // Node's own handshake timeout is 120 s: the stop closes the socket itself.
      assert.ok(performance.now() - t0 < 5000, `stop took ${Math.round(performance.now() - t0)} ms`);
    });
  }
});

describe('only a TLS listener', () => {
  test('the gateway’s URL is https, and its synthetic checks reach it (its own certificate is not checked on loopback)', async () => {
    const gw = await startTestGateway(`
listen: [{ address: 127.0.0.1:0, tls: { cert: ${TLS_CERT_PATH}, key: ${TLS_KEY_PATH} } }]
upstreams:
  app: { endpoints: ["${healthy.url}"] }
routes:
  - { path: /, upstream: app }
synthetic:
  - { name: home, url: /health, origin: ${healthy.url}/health, interval: 1h, timeout: 1s }
`);
    try {
      assert.match(gw.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      await gw.observe.synthetic!.runOnce();
      const [check] = gw.observe.status().synthetic;
      assert.equal(check!.gateway.at(-1)!.status, 200, JSON.stringify(check));
      assert.equal(check!.verdict.code, 'up');
    } finally {
      await gw.stop(100);
    }
  });
});

describe('https_redirect on a route', () => {
  test('a request in clear is sent to https:// (301 for GET, 308 for POST), one over TLS is served', async () => {
    const gw = await startTestGateway(`
listen:
  - 127.0.0.1:0
  - { address: 127.0.0.1:0, tls: { cert: ${TLS_CERT_PATH}, key: ${TLS_KEY_PATH} } }
upstreams:
  app: { endpoints: ["${healthy.url}"] }
routes:
  - { path: /open, upstream: app }
  - { path: /, upstream: app, https_redirect: 8443 }
`);
    try {
      const before = healthy.stats.requests;
      const get = await send(`${gw.url}/account?tab=1`, { headers: { host: 'shop.test:8080' } });
      assert.ok(get.ok);
      assert.equal(get.status, 301);
      assert.equal(header(get, 'location'), 'https://shop.test:8443/account?tab=1');
      const post = await send(`${gw.url}/account`, { method: 'POST', body: 'x', headers: { host: 'shop.test' } });
      assert.ok(post.ok);
      assert.equal(post.status, 308);
      assert.equal(header(post, 'location'), 'https://shop.test:8443/account');
      assert.equal(healthy.stats.requests, before, 'the origin saw neither');
      const open = await send(`${gw.url}/open`);
      assert.ok(open.ok && open.status === 200, 'a route without it is served in clear');
      const tls = await send(`https://localhost:${gw.addresses[1]!.port}/echo`, trust);
      assert.ok(tls.ok);
      assert.equal(tls.status, 200);
    } finally {
      await gw.stop(100);
    }
  });
});
