// `gatewise doctor URL` against the lab's real faults on loopback: each failure must be
// pinned on the right hop, with the cause the operator would act on.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { doctorCommand } from '../src/cli/doctor.ts';
import { type DoctorReport, diagnoseUrl } from '../src/doctor/probe/index.ts';
import { PROXY_ERROR_TYPES } from '../src/errors/types.ts';
import { type RunningDnsServer, startDnsServer } from '../src/lab/dns-server.ts';
import { type RunningOrigin, startOrigin } from '../src/lab/origin.ts';
import { startTestGateway, type TestGateway } from './helpers/start-gateway.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

let healthy: RunningOrigin;
let offline: RunningOrigin;
let dns: RunningDnsServer;
let gw: TestGateway;

before(async () => {
  healthy = await startOrigin({ fault: 'healthy' });
  offline = await startOrigin({ fault: 'offline' });
  dns = await startDnsServer({ records: { 'app.lab.test': ['127.0.0.1'] }, ttl: 30 });
  gw = await startTestGateway(`
name: gw-test
upstreams:
  app: { endpoints: ["${offline.url}"] }
routes:
  - { path: /, upstream: app }
`);
});

after(async () => {
  await gw?.stop(100);
  await dns?.close();
  await healthy?.close();
  await offline?.close();
});

type Captured = { code: number; out: string; err: string };

/** The CLI in-process, with its output captured. */
async function doctor(...argv: string[]): Promise<Captured> {
  let out = '';
  let err = '';
  const code = await doctorCommand(argv, {
    out: (t) => {
      out += `${t}\n`;
    },
    err: (t) => {
      err += `${t}\n`;
    },
  });
  return { code, out, err };
}

async function doctorJson(...argv: string[]): Promise<{ code: number; report: DoctorReport }> {
  const r = await doctor(...argv, '--json');
  return { code: r.code, report: JSON.parse(r.out) as DoctorReport };
}

/** The real binary, as an operator runs it. */
function spawnDoctor(...argv: string[]): Promise<Captured> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['src/main.ts', 'doctor', ...argv], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out: Buffer.concat(out).toString(), err: Buffer.concat(err).toString() }));
  });
}

describe('the failing hop', () => {
  test('refused: nothing listens → tcp, refused', async () => {
    const r = await diagnoseUrl(`${offline.url}/`);
    assert.equal(r.verdict.hop, 'tcp');
    assert.equal(r.verdict.ok, false);
    assert.equal(r.verdict.code, 'ECONNREFUSED');
    assert.equal(r.verdict.type, 'connection_refused');
    assert.match(r.verdict.cause, /refused/);
    assert.equal(r.runs[0]!.tcp[0]!.outcome, 'refused');
    assert.equal(r.verdict.fixes[0], PROXY_ERROR_TYPES.connection_refused.operator);
  });

  test('blackhole: the handshake never completes → tcp, timed out after --connect-timeout', async () => {
    const bh = await startOrigin({ fault: 'blackhole' });
    try {
      const started = Date.now();
      const { code, report } = await doctorJson(`${bh.url}/`, '--connect-timeout', '500ms');
      assert.ok(Date.now() - started < 2500, 'gave up at the connect timeout');
      assert.equal(code, 1);
      assert.equal(report.verdict.hop, 'tcp');
      assert.equal(report.verdict.type, 'connection_timeout');
      assert.match(report.verdict.cause, /timed out after 500 ms/);
      assert.equal(report.runs[0]!.tcp[0]!.outcome, 'timeout');
    } finally {
      await bh.close();
    }
  });

  test('a self-signed certificate → tls, with the verify code', async () => {
    const bad = await startOrigin({ fault: 'tls-bad-cert' });
    try {
      const r = await diagnoseUrl(`${bad.url}/`);
      assert.equal(r.verdict.hop, 'tls');
      assert.equal(r.verdict.type, 'tls_certificate_error');
      assert.equal(r.verdict.code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
      assert.match(r.verdict.cause, /DEPTH_ZERO_SELF_SIGNED_CERT/);
      const tls = r.runs[0]!.tls!;
      assert.equal(tls.authorized, false);
      assert.equal(tls.verifyError, 'DEPTH_ZERO_SELF_SIGNED_CERT');
      assert.equal(tls.hostMatch, true, 'the lab certificate covers 127.0.0.1');
      assert.match(tls.protocol ?? '', /^TLSv1\.[23]$/);
      assert.ok(tls.cipher);
      assert.ok((tls.daysLeft ?? 0) > 14);
      // Like curl -k, the doctor still shows what answers behind the certificate.
      assert.equal(r.runs[0]!.http?.status, 200);
    } finally {
      await bad.close();
    }
  });

  for (const mode of ['nxdomain', 'servfail'] as const) {
    test(`DNS ${mode} from the resolver given with --resolver → dns`, async () => {
      dns.setMode(mode);
      try {
        const { code, report } = await doctorJson(`http://app.lab.test:${healthy.port}/`, '--resolver', dns.address);
        assert.equal(code, 1);
        assert.equal(report.verdict.hop, 'dns');
        assert.equal(report.verdict.code, mode.toUpperCase());
        assert.equal(report.verdict.type, 'dns_error');
        assert.ok(report.verdict.cause.includes(`at ${dns.address}: ${mode.toUpperCase()}`), report.verdict.cause);
        assert.equal(report.runs[0]!.dns.resolver, dns.address);
        assert.equal(report.runs[0]!.tcp.length, 0, 'no address, no connection');
      } finally {
        dns.setMode('answer');
      }
    });
  }

  test('a name the lab DNS answers: the answers, their TTL and the resolver', async () => {
    const r = await diagnoseUrl(`http://app.lab.test:${healthy.port}/`, { resolver: dns.address });
    assert.equal(r.verdict.hop, 'none');
    const d = r.runs[0]!.dns;
    assert.equal(d.source, 'dns');
    assert.equal(d.resolver, dns.address);
    assert.deepEqual(d.answers, [{ address: '127.0.0.1', family: 4, ttl: 30 }]);
  });
});

describe('behind a gateway', () => {
  test('502 from a gateway in front of a dead origin → the gateway → origin link, connection_refused', async () => {
    const r = await diagnoseUrl(`${gw.url}/api/users`);
    assert.equal(r.verdict.hop, 'http-gateway');
    assert.equal(r.verdict.type, 'connection_refused');
    assert.match(r.verdict.cause, /gateway → origin/);
    assert.match(r.verdict.cause, /connection_refused/);
    const http = r.runs[0]!.http!;
    assert.equal(http.status, 502);
    assert.deepEqual(http.proxyStatus, [
      {
        proxy: 'gw-test',
        error: 'connection_refused',
        title: PROXY_ERROR_TYPES.connection_refused.title,
        check: PROXY_ERROR_TYPES.connection_refused.operator,
        details: 'connect_refused',
        nextHop: 'app',
        receivedStatus: null,
      },
    ]);
    assert.ok(http.headers.some((h) => h.name === 'proxy-status'));
  });

  test('--origin: the origin answers directly, so the link between them is to blame', async () => {
    const { code, out } = await doctor(`${gw.url}/api/users`, '--origin', `127.0.0.1:${healthy.port}`);
    assert.equal(code, 1);
    assert.match(out, /compare: the origin answers 200 OK directly, the gateway returns 502 Bad Gateway: look at the link between them/);
    assert.match(out, /✗ verdict: http-gateway: .*Proxy-Status says connection_refused/);
    assert.match(out, /↳ gw-test says connection_refused: The origin server refused the connection/);

    const r = await diagnoseUrl(`${gw.url}/api/users`, { origin: `127.0.0.1:${healthy.port}` });
    assert.equal(r.verdict.hop, 'http-gateway');
    assert.equal(r.comparison?.urlStatus, 502);
    assert.equal(r.comparison?.originStatus, 200);
    assert.equal(r.originRuns[0]!.hostHeader, new URL(gw.url).host, 'the origin is asked with the URL’s Host');
  });

  test('--resolve HOST:PORT:ADDR names the origin as curl does', async () => {
    const host = new URL(gw.url).hostname;
    const r = await diagnoseUrl(`${gw.url}/`, { resolve: `${host}:${healthy.port}:127.0.0.1` });
    assert.equal(r.verdict.hop, 'http-gateway');
    assert.equal(r.originRuns[0]!.dns.source, 'pinned');
    assert.match(r.comparison!.sentence, /the origin answers 200 OK directly/);
  });

  test('--origin that fails too: the origin is to blame, not the link', async () => {
    const r = await diagnoseUrl(`${gw.url}/`, { origin: `127.0.0.1:${offline.port}` });
    assert.equal(r.verdict.hop, 'http-origin');
    assert.match(r.verdict.cause, /fails when asked directly too/);
  });
});

describe('healthy and intermittent', () => {
  test('a healthy URL exits 0', async () => {
    const { code, out } = await doctor(`${healthy.url}/`);
    assert.equal(code, 0);
    assert.match(out, /✓ tcp/);
    assert.match(out, /✓ http +200 OK/);
    assert.match(out, /✓ verdict: healthy/);
  });

  test('--repeat against a flapping origin: a failure share between 0 and 1 at tcp', async () => {
    const flap = await startOrigin({ fault: 'flap', upMs: 200, downMs: 200 });
    try {
      const { code, report } = await doctorJson(`${flap.url}/`, '--repeat', '16', '--interval', '60ms');
      assert.equal(code, 1);
      assert.equal(report.runs.length, 16);
      const tcp = report.shares.tcp;
      assert.ok(tcp.share > 0 && tcp.share < 1, `tcp failure share ${tcp.share}`);
      assert.equal(report.verdict.hop, 'tcp');
      assert.equal(report.verdict.intermittent, true);
      assert.match(report.verdict.cause, /in \d+ of 16 runs: intermittent/);
    } finally {
      await flap.close();
    }
  });
});

describe('the command line', () => {
  test('usage errors exit 2 and name the problem', async () => {
    for (const [argv, pattern] of [
      [[], /which URL/],
      [['example.com'], /no scheme/],
      [['ftp://example.com/'], /only http/],
      [['http://x/', '--connect-timeout', '5'], /has no unit/],
      [['http://x/', '--repeat', 'many'], /--repeat/],
      [['http://x/', '--resolver', 'not-an-ip'], /--resolver/],
      [['http://x/', '--origin', 'a:1', '--resolve', 'x:80:127.0.0.1'], /either --origin or --resolve/],
      [['http://x/', '--resolve', 'y:80:127.0.0.1'], /URL's host is x/],
    ] as const) {
      const r = await doctor(...argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.err, pattern, argv.join(' '));
    }
  });

  test('the binary: exit codes 0 and 1, --json on stdout, usage 2, and doctor logs dispatched', async () => {
    const [ok, bad, usage, logs] = await Promise.all([
      spawnDoctor(`${healthy.url}/`, '--json'),
      spawnDoctor(`${offline.url}/`),
      spawnDoctor('--connect-timeout', 'soon', `${healthy.url}/`),
      spawnDoctor('logs', '--help'),
    ]);
    assert.equal(ok.code, 0, ok.err);
    const report = JSON.parse(ok.out) as DoctorReport;
    assert.equal(report.verdict.ok, true);
    assert.equal(report.runs[0]!.http?.status, 200);
    assert.equal(bad.code, 1, bad.err);
    assert.match(bad.out, /✗ tcp +connect to 127\.0\.0\.1:\d+ refused/);
    assert.equal(usage.code, 2);
    assert.match(usage.err, /--connect-timeout/);
    assert.equal(logs.code, 0, logs.err);
    assert.match(logs.out, /doctor logs/);
    assert.doesNotMatch(logs.out, /doctor URL/);
  });
});
