// `npm run bench`: gatewise against direct, nginx, HAProxy, @fastify/http-proxy and
// http-proxy on this machine: throughput, latency at a fixed rate, 1 MiB bodies, memory with
// many keep-alive connections, the lab's failure scenarios, and a CPU profile of gatewise.
// Everything runs on 127.0.0.1, every load is bounded in count and time, and every process
// the bench starts is stopped by its PID. The full run takes about 23 minutes.
//
// Environment:
//   BENCH_RUNS=3          rounds per configuration (interleaved), and resilience runs (BENCH_RES_RUNS, default 1)
//   BENCH_SECONDS=10      closed-loop and fixed-rate duration; lower it for a quick look only
//   BENCH_BIG_SECONDS=3   1 MiB response and upload duration
//   BENCH_IDLE_SECONDS=10 the 1,000-connection memory test (0 skips it)
//   BENCH_ONLY=perf,resilience,profile   which parts to run
//   BENCH_TARGETS=direct,gatewise,nginx,haproxy,fastify,http-proxy,llhttp,floor,node-http
//   BENCH_SCENARIOS=offline,dns,…        the resilience scenarios (default: all but offline-post)
//   BENCH_OUT=bench/results              where results.json, results.md and the .cpuprofile go
//   BENCH_NO_INSTALL=1    never try apt-get, even as root
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { provenance, requireTools } from './lib/env.ts';
import { startOrigin } from './lib/origin.ts';
import { commands, LOAD_CORE, type PerfSettings, runPerf } from './lib/perf.ts';
import { profileGatewise } from './lib/profile.ts';
import { markdown, type Results } from './lib/report.ts';
import { ALL_SCENARIOS, runResilience, SCENARIOS } from './lib/resilience.ts';
import { SETUP, TARGETS, type TargetName } from './lib/targets.ts';

const t0 = performance.now();
const log = (l: string) => process.stderr.write(`${l}\n`);
const env = (k: string) => process.env[k];

function num(name: string, def: number, min: number, max: number): number {
  const v = env(name);
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${name}=${v}: expected a number from ${min} to ${max}`);
  return n;
}

function list<T extends string>(name: string, all: readonly T[]): T[] {
  const v = env(name);
  if (!v) return [...all];
  const xs = v.split(',').map((x) => x.trim()) as T[];
  const bad = xs.filter((x) => !all.includes(x));
  if (bad.length > 0) throw new Error(`${name}: unknown ${bad.join(', ')} (known: ${all.join(', ')})`);
  return xs;
}

async function main(): Promise<number> {
  // Paths in the proxies' commands and the lab's scenario files are relative to the checkout.
  process.chdir(fileURLToPath(new URL('..', import.meta.url)));
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 24) throw new Error(`node ${process.version}: the bench needs Node 24 (npm run bench, or ./node_modules/.bin/node bench/run.ts)`);
  const parts = list('BENCH_ONLY', ['perf', 'resilience', 'profile'] as const);
  const settings: PerfSettings = {
    runs: num('BENCH_RUNS', 3, 1, 10),
    seconds: num('BENCH_SECONDS', 10, 1, 30),
    bigSeconds: num('BENCH_BIG_SECONDS', 3, 1, 30),
    idleSeconds: num('BENCH_IDLE_SECONDS', 10, 0, 30),
    rate: 5000,
    rateConnections: 50,
    idleConnections: 1000,
    targets: list<TargetName>('BENCH_TARGETS', TARGETS),
  };
  const resRuns = num('BENCH_RES_RUNS', 1, 1, 5);
  const scenarios = env('BENCH_SCENARIOS') ? list('BENCH_SCENARIOS', ALL_SCENARIOS) : [...SCENARIOS];
  const out = resolve(env('BENCH_OUT') ?? 'bench/results');

  const tools = requireTools(log);
  const pv = await provenance(tools);
  log(`gatewise bench — ${pv.date}`);
  log(`  machine  ${pv.machine}; ${pv.kernel}; load average ${pv.loadavg}`);
  log(`  node ${pv.node} · nginx ${pv.nginx} · ${pv.haproxy} · ${pv.wrk} · undici ${pv.undici} · fastify ${pv.fastify} · @fastify/http-proxy ${pv.fastifyHttpProxy} · http-proxy ${pv.httpProxy}`);
  log(`  gatewise ${pv.gatewise} (${pv.gitCommit}); ${pv.pinning}`);
  log(`  noise    a busy loop paused up to ${pv.stalls.map((x) => `${x.maxMs.toFixed(1)} ms on CPU ${x.core} (${x.over1ms} pauses > 1 ms in 3 s)`).join(', ')}`);
  if (pv.nproc < 2) log('  warning: fewer than 2 CPUs: the proxy and the load generator share one, figures are not comparable');

  const base = mkdtempSync(join(tmpdir(), 'gatewise-bench-'));
  const results: Results = {
    provenance: pv,
    settings,
    commands: commands(settings),
    setup: SETUP,
    perf: [],
    resilience: [],
    profile: null,
    durationS: 0,
  };
  const origin = await startOrigin(tools.nginx, join(base, 'origin'), LOAD_CORE);
  log(`  origin   nginx at ${origin.url} (pid ${origin.proc.pid}), temp dir ${base}`);
  const stopAll = () => {
    // Ctrl-C: the origin by its PID; a proxy being measured is stopped by its own finally.
    origin.proc.child.kill('SIGTERM');
  };
  process.once('SIGINT', stopAll);
  try {
    if (parts.includes('perf')) {
      log(`\nthroughput, latency, 1 MiB bodies, memory: ${settings.runs} interleaved rounds of ${settings.targets.join(', ')}`);
      results.perf = await runPerf({ tools, originUrl: origin.url, base, s: settings, log });
    }
    if (parts.includes('profile')) {
      log('\nprofile: gatewise under wrk -t1 -c64 with node --cpu-prof');
      const prof = await profileGatewise({ tools, originUrl: origin.url, dir: join(base, 'profile'), seconds: settings.seconds });
      mkdirSync(out, { recursive: true });
      const kept = join(out, 'gatewise.cpuprofile');
      copyFileSync(prof.file, kept);
      results.profile = { ...prof, file: kept };
      log(`  ${Math.round(prof.wrk.requestsPerSec)} req/s while profiled; top: ${prof.top.slice(0, 5).map((e) => `${e.fn} ${(e.share * 100).toFixed(1)}%`).join(', ')}`);
    }
  } finally {
    await origin.stop();
  }
  if (parts.includes('resilience')) {
    log(`\nresilience: ${scenarios.join(', ')} against gatewise, nginx, HAProxy (${resRuns} run${resRuns > 1 ? 's' : ''} each)`);
    results.resilience = await runResilience(resRuns, log, scenarios);
  }
  process.off('SIGINT', stopAll);
  rmSync(base, { recursive: true, force: true });

  results.durationS = (performance.now() - t0) / 1000;
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const md = markdown(results);
  writeFileSync(join(out, 'results.md'), `${md}\n`);
  process.stdout.write(`\n${md}\n`);
  log(`\nwritten: ${join(out, 'results.json')}, ${join(out, 'results.md')} (${Math.round(results.durationS)} s in all)`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    log(`bench: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
