// Throughput, latency and memory: every configuration started fresh in each round, the
// rounds interleaved (round r starts with a different configuration), so that a noisy
// minute on a shared machine falls on every configuration rather than on one.
//
// One round of one configuration, on the same fresh process:
//   1. memory: 1,000 keep-alive connections, each 1 GET/s for `idleSeconds` (proxies only;
//      VmRSS of the proxy and its children sampled every 200 ms);
//   2. closed loop: wrk -t1 -c64 for `seconds` after 2 s of warm-up (V8 needs a few thousand
//      requests to optimize the Node proxies: their first seconds run at half speed);
//   3. fixed rate: 5,000 GET/s (Poisson arrivals, wrk) over 50 connections for `seconds`,
//      after two 1 s calibration runs at that rate (fixed-rate.ts);
//   4. 1 MiB responses: wrk -t1 -c16 GET /1m for `bigSeconds`;
//   5. 1 MiB uploads: wrk -t1 -c16 POST /upload for `bigSeconds`.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tools } from './env.ts';
import { MIB } from './bodies.ts';
import { type FixedRateResult, runFixedRate } from './fixed-rate.ts';
import { type InsideLatency, insideLatency, logSize } from './inside.ts';
import { cpuSecondsTree, rssTree, runToEnd } from './proc.ts';
import { rotate } from './resilience.ts';
import { LABEL, startTarget, TARGETS, type TargetName } from './targets.ts';
import { runWrk } from './wrk.ts';

export const PROXY_CORE = 0;
export const LOAD_CORE = 1;

export type PerfSettings = {
  runs: number;
  seconds: number;
  bigSeconds: number;
  idleSeconds: number;
  rate: number;
  rateConnections: number;
  idleConnections: number;
  targets: readonly TargetName[];
};

export type IdleResult = { connected: number; sent: number; ok: number; non2xx: number; errors: number; closed: number; p50Ms: number | null; p99Ms: number | null };

export type RunResult = {
  round: number;
  target: TargetName;
  closed: { rps: number; errors: number; p50Ms: number | null; p99Ms: number | null; cpuUsPerRequest: number | null; cpuShare: number | null };
  latency: FixedRateResult;
  /** gatewise only: the same window from its access log (durationMs), see inside.ts. */
  inside: InsideLatency | null;
  /** 1 MiB a request, so requests/s are also MiB/s. */
  down: { rps: number; errors: number };
  up: { rps: number; errors: number };
  memory: { startBytes: number; peakBytes: number; endBytes: number; load: IdleResult } | null;
};

const IDLE = fileURLToPath(new URL('../idle-conns.ts', import.meta.url));

/** The exact commands, for the report (PORT and ORIGIN stand for what the run picked). */
export function commands(s: PerfSettings): Record<string, string> {
  return {
    closed: `taskset -c ${LOAD_CORE} wrk -t1 -c64 -d${s.seconds}s --latency --timeout 5s http://127.0.0.1:PORT/`,
    fixedRate: `taskset -c ${LOAD_CORE} wrk -t1 -c${s.rateConnections} -d${s.seconds}s --timeout 5s -s fixed-rate.lua http://127.0.0.1:PORT/ (WRK_MEAN_MS: the mean gap per connection, ${(s.rateConnections * 1000) / s.rate} ms less what two 1 s calibration runs measured beyond it; bench/lib/fixed-rate.ts)`,
    down: `taskset -c ${LOAD_CORE} wrk -t1 -c16 -d${s.bigSeconds}s --latency --timeout 5s http://127.0.0.1:PORT/1m`,
    up: `taskset -c ${LOAD_CORE} wrk -t1 -c16 -d${s.bigSeconds}s --latency --timeout 5s -s upload.lua http://127.0.0.1:PORT/upload   (upload.lua: POST, 1 MiB body)`,
    idle: `taskset -c ${LOAD_CORE} node bench/idle-conns.ts --url http://127.0.0.1:PORT/ --connections ${s.idleConnections} --duration ${s.idleSeconds}`,
    gatewise: `taskset -c ${PROXY_CORE} node bin/gatewise.js serve --listen 127.0.0.1:PORT --upstream ORIGIN > DIR/access.log 2> DIR/stderr.log`,
    nginx: `taskset -c ${PROXY_CORE} nginx -p DIR -e DIR/error.log -c DIR/nginx.conf -g "daemon off; pid DIR/nginx.pid;"`,
    haproxy: `taskset -c ${PROXY_CORE} haproxy -db -f DIR/haproxy.cfg`,
    fastify: `taskset -c ${PROXY_CORE} node bench/proxies/fastify-proxy.ts --listen 127.0.0.1:PORT --upstream ORIGIN`,
    'http-proxy': `taskset -c ${PROXY_CORE} node bench/proxies/http-proxy.ts --listen 127.0.0.1:PORT --upstream ORIGIN`,
    llhttp: `taskset -c ${PROXY_CORE} node bench/proxies/llhttp-floor.ts --listen 127.0.0.1:PORT --upstream ORIGIN`,
    floor: `taskset -c ${PROXY_CORE} node bench/proxies/undici-floor.ts --listen 127.0.0.1:PORT --upstream ORIGIN`,
    'node-http': `taskset -c ${PROXY_CORE} node bench/proxies/node-http-alone.ts --listen 127.0.0.1:PORT`,
    origin: `taskset -c ${LOAD_CORE} nginx -p DIR … (1 worker; GET / 150 B, GET /1m 1 MiB, POST /upload)`,
  };
}

async function memoryTest(pid: number, url: string, s: PerfSettings) {
  const startBytes = rssTree(pid) ?? 0;
  let peakBytes = startBytes;
  const sampler = setInterval(() => {
    peakBytes = Math.max(peakBytes, rssTree(pid) ?? 0);
  }, 200);
  try {
    const r = await runToEnd([process.execPath, IDLE, '--url', `${url}/`, '--connections', String(s.idleConnections), '--duration', String(s.idleSeconds)], {
      core: LOAD_CORE,
      timeoutMs: (s.idleSeconds + 30) * 1000,
    });
    if (r.code !== 0) throw new Error(`idle-conns failed: ${r.stderr}`);
    peakBytes = Math.max(peakBytes, rssTree(pid) ?? 0);
    return { startBytes, peakBytes, endBytes: rssTree(pid) ?? 0, load: JSON.parse(r.stdout) as IdleResult };
  } finally {
    clearInterval(sampler);
  }
}

export async function runOnce(target: TargetName, round: number, o: { tools: Tools; originUrl: string; dir: string; s: PerfSettings }): Promise<RunResult> {
  const { tools, s } = o;
  const t = await startTarget(target, { tools, originUrl: o.originUrl, dir: o.dir, core: PROXY_CORE });
  try {
    const memory = t.pid !== null && s.idleSeconds > 0 ? await memoryTest(t.pid, t.url, s) : null;
    await runWrk({ wrk: tools.wrk, url: `${t.url}/`, connections: 64, seconds: 2, core: LOAD_CORE });
    const cpu0 = t.pid !== null ? cpuSecondsTree(t.pid) : 0;
    const w0 = performance.now();
    const closed = await runWrk({ wrk: tools.wrk, url: `${t.url}/`, connections: 64, seconds: s.seconds, core: LOAD_CORE });
    const wallS = (performance.now() - w0) / 1000;
    const cpu = t.pid !== null ? cpuSecondsTree(t.pid) - cpu0 : null;
    const logFile = join(o.dir, 'access.log');
    const logFrom = target === 'gatewise' ? logSize(logFile) : 0;
    const latency = await runFixedRate({ wrk: tools.wrk, url: `${t.url}/`, rate: s.rate, connections: s.rateConnections, seconds: s.seconds, core: LOAD_CORE, dir: o.dir });
    // The measured run, after the calibration at the same rate.
    const inside = target === 'gatewise' ? await insideLatency(logFile, logFrom, latency.startedAt, latency.endedAt) : null;
    const down = await runWrk({ wrk: tools.wrk, url: `${t.url}/1m`, connections: 16, seconds: s.bigSeconds, core: LOAD_CORE });
    const up = await runWrk({ wrk: tools.wrk, url: `${t.url}/upload`, connections: 16, seconds: s.bigSeconds, core: LOAD_CORE, uploadBytes: MIB, dir: o.dir });
    return {
      round,
      target,
      closed: {
        rps: closed.requestsPerSec,
        errors: closed.errors,
        p50Ms: closed.latencyMs.p50,
        p99Ms: closed.latencyMs.p99,
        cpuUsPerRequest: cpu !== null && closed.requests > 0 ? (cpu * 1e6) / closed.requests : null,
        cpuShare: cpu !== null ? cpu / wallS : null,
      },
      latency,
      inside,
      down: { rps: down.requestsPerSec, errors: down.errors },
      up: { rps: up.requestsPerSec, errors: up.errors },
      memory,
    };
  } finally {
    await t.stop();
  }
}

export async function runPerf(o: { tools: Tools; originUrl: string; base: string; s: PerfSettings; log: (l: string) => void }): Promise<RunResult[]> {
  const results: RunResult[] = [];
  const targets = TARGETS.filter((t) => o.s.targets.includes(t));
  // One start of each before the rounds, with one request, so that every round's start
  // finds Node's compile cache filled with the modules loaded at start and those loaded at
  // the first request (Node writes the cache at exit). Without the request, the first round
  // stripped the types of the latter and loaded the stripper (~20 MB resident) mid-run: its
  // peak with 1,000 connections read ~20 MiB above the other rounds' after a change to them.
  for (const target of targets) {
    const t = await startTarget(target, { tools: o.tools, originUrl: o.originUrl, dir: join(o.base, `${target}-0`), core: PROXY_CORE });
    try {
      await (await fetch(`${t.url}/`, { signal: AbortSignal.timeout(5000) })).arrayBuffer();
    } finally {
      await t.stop();
    }
  }
  for (let round = 1; round <= o.s.runs; round++) {
    for (const target of rotate(targets, round - 1)) {
      const t0 = performance.now();
      const r = await runOnce(target, round, { tools: o.tools, originUrl: o.originUrl, dir: join(o.base, `${target}-${round}`), s: o.s });
      results.push(r);
      const mem = r.memory ? `, ${(r.memory.peakBytes / MIB).toFixed(0)} MiB at ${o.s.idleConnections} conns` : '';
      o.log(
        `  round ${round} ${LABEL[target].padEnd(20)} ${r.closed.rps.toFixed(0).padStart(6)} req/s closed, ` +
          `p99 ${fmt(r.latency.ms.p99)} / p99.9 ${fmt(r.latency.ms.p999)} ms at ${r.latency.achievedRate.toFixed(0)}/s, ` +
          `1 MiB ${r.down.rps.toFixed(0)}↓ ${r.up.rps.toFixed(0)}↑ req/s${mem} (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
      );
    }
  }
  return results;
}

function fmt(n: number | null): string {
  return n === null ? '–' : n.toFixed(2);
}
