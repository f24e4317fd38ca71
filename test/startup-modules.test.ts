// What a started gateway with a plain HTTP listener leaves unloaded, each worth megabytes
// resident: node:tls, node:http2, node:https and node:zlib (loaded by node:http's ES module
// facade, by prom-client's index and by undici's Client), prom-client's index, undici's index
// and its Client, and OpenTelemetry's API (prom-client's process CPU counters). A TLS or
// HTTP/2 listener, a health check or an upgrade loads what it needs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import * as prom from 'prom-client';
import { setTimeout as sleep } from 'node:timers/promises';
import { processCpuMetrics } from '../src/observe/process-cpu.ts';
import { Counter, collectDefaultMetricsButCpu, Gauge, Registry } from '../src/observe/prom-parts.ts';
import { spawnGatewise } from './helpers/gateway-process.ts';

const HEAVY = ['tls', 'http2', 'https', 'zlib'];

type Seen = {
  status: string;
  builtins: string[];
  promIndex: boolean;
  undiciClient: boolean;
  undiciIndex: boolean;
  otel: boolean;
  /** The same checks once the parts were loaded on purpose: each sees a load when one happens. */
  after: { builtins: string[]; promIndex: boolean; undiciClient: boolean; undiciIndex: boolean; otel: boolean };
};

/** Starts a gateway in a child process, sends it one request over a raw socket, and reports what is loaded. */
function startedGateway(): Seen {
  const src = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);
  const script = `
    const { startGateway } = await import(${src('../src/gateway.ts')});
    const { quickConfig } = await import(${src('../src/config/quick.ts')});
    const { createRequire, default: Module } = await import('node:module');
    const net = await import('node:net');
    const gw = await startGateway(quickConfig({ listen: '127.0.0.1:0', upstreams: ['http://127.0.0.1:9'] }));
    // One request through the whole path (nothing listens on port 9: an explained 502).
    const { port } = new URL(gw.url);
    const status = await new Promise((resolve, reject) => {
      const s = net.connect(Number(port), '127.0.0.1', () => s.write('GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n'));
      let got = '';
      s.on('data', (d) => (got += d)).on('end', () => resolve(got.split('\\r\\n')[0])).on('error', reject);
    });
    const heavy = ['tls', 'http2', 'https', 'zlib'];
    const req = createRequire(import.meta.url);
    const seen = () => {
      const cache = Object.keys(Module._cache ?? {});
      return {
        builtins: heavy.filter((m) => process.moduleLoadList.includes('NativeModule ' + m)),
        promIndex: cache.includes(req.resolve('prom-client')),
        undiciClient: cache.some((f) => f.endsWith('/undici/lib/dispatcher/client.js')),
        undiciIndex: cache.includes(req.resolve('undici')),
        otel: cache.some((f) => f.includes('/@opentelemetry/api/')),
      };
    };
    const out = { status, ...seen() };
    // What a health check or an upgrade does first, and prom-client's index loaded on purpose.
    const { loadPool } = await import(${src('../src/upstream/undici-parts.ts')});
    loadPool();
    // prom-client's index loads its default metrics, and so processCpuTotal and OpenTelemetry's API.
    req('prom-client');
    req('undici');
    out.after = seen();
    // Its access lines go to stdout too.
    process.stdout.write('\\nRESULT ' + JSON.stringify(out) + '\\n');
    await gw.stop();
  `;
  const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: new URL('..', import.meta.url), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  assert.ok(line, stdout);
  return JSON.parse(line.slice('RESULT '.length));
}

test("a started gateway with a plain HTTP listener has loaded neither node:tls, http2, https, zlib, prom-client's index, undici's index, its Client nor OpenTelemetry's API", () => {
  const out = startedGateway();
  assert.match(out.status, /^HTTP\/1\.1 502 /, 'the request went through the pipeline');
  assert.deepEqual(out.builtins, []);
  assert.equal(out.promIndex, false, "prom-client's index was loaded");
  assert.equal(out.undiciClient, false, "undici's Client was loaded");
  assert.equal(out.undiciIndex, false, 'undici/index.js was loaded');
  assert.equal(out.otel, false, "OpenTelemetry's API was loaded");
  // Each check sees a load when one happens: undici's Client requires node:http2 (and
  // node:tls), prom-client's index its Pushgateway (node:https, node:zlib).
  assert.deepEqual(out.after, { builtins: HEAVY, promIndex: true, undiciClient: true, undiciIndex: true, otel: true });
});

test("each part of prom-client loaded from its own file is the one prom-client's index exports", () => {
  assert.equal(Registry, prom.Registry);
  assert.equal(Counter, prom.Counter);
  assert.equal(Gauge, prom.Gauge);
});

test("prom-client's default metrics but its CPU counters, with gatewise's CPU counters, register exactly what collectDefaultMetrics does", async () => {
  const theirs = new prom.Registry();
  prom.collectDefaultMetrics({ register: theirs });
  const ours = new Registry();
  collectDefaultMetricsButCpu(ours);
  processCpuMetrics(ours);
  const shape = async (r: prom.Registry) =>
    (await r.getMetricsAsJSON()).map((m) => ({ name: m.name, help: m.help, type: m.type, labels: m.values.map((v) => Object.keys(v.labels).sort().join()).sort() })).sort((a, b) => a.name.localeCompare(b.name));
  const expected = await shape(theirs);
  assert.ok(expected.some((m) => m.name === 'process_cpu_seconds_total'), 'the comparison covers the CPU counters');
  assert.deepEqual(await shape(ours), expected);
  // The CPU counters count: CPU spent between two scrapes shows in the second.
  const cpuSeconds = async () => (await ours.getMetricsAsJSON()).find((m) => m.name === 'process_cpu_seconds_total')!.values[0]!.value;
  const before = await cpuSeconds();
  const until = performance.now() + 30;
  while (performance.now() < until);
  const after = await cpuSeconds();
  assert.ok(after - before >= 0.02, `CPU seconds grew by ${after - before} over 30 ms of busy loop`);
  for (const r of [theirs, ours]) r.clear();
});

test('gatewise serve, as an operator runs it, has loaded none of node:tls, http2, https, zlib', async () => {
  const preload = new URL('./helpers/report-on-signal.ts', import.meta.url).pathname;
  const gw = await spawnGatewise(['serve', '--listen', '127.0.0.1:0', '--upstream', 'http://127.0.0.1:9'], { NODE_OPTIONS: `--import=${preload}` });
  try {
    const seen = gw.output().length;
    gw.proc.kill('SIGUSR2');
    for (let waited = 0; !gw.output().slice(seen).includes('MODULES'); waited += 20) {
      assert.ok(waited < 2000 && gw.proc.exitCode === null, `no answer to SIGUSR2:\n${gw.output()}`);
      await sleep(20);
    }
    const loaded = /MODULES (.*)/.exec(gw.output().slice(seen))![1]!.split(',');
    assert.deepEqual(HEAVY.filter((m) => loaded.includes(m)), []);
    // The report names what is loaded: node:net always is.
    assert.ok(loaded.includes('net'), loaded.join(','));
  } finally {
    await gw.signal('SIGTERM');
  }
});
