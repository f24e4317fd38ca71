// Latency at a fixed rate: wrk (C, one thread, no garbage collector) sends requests with
// exponentially distributed gaps on each of N keep-alive connections, so that arrivals at
// the proxy are a Poisson stream of the chosen mean rate, as independent users make them.
//
// The bench first used a Node generator (undici, a 1 ms timer): its own scavenges and timer
// bursts (five requests at once every millisecond) added more to the tail than any proxy,
// the origin alone measuring p99 1.3-4.2 ms and p99.9 7-29 ms; measured with wrk, the same
// origin reads p99 ~0.35 ms and p99.9 ~0.5 ms (docs/benchmarks.md).
//
// wrk's delay() sets the gap between a response and the next request on that connection
// (the first request too, so the connections start out of phase). The gap's mean is set
// by two 1 s calibration runs: each connection's cycle is its gap plus the response's
// latency plus wrk's timer slack, so the mean gap is lowered by what the calibration
// measured beyond it. Latency is wrk's: from the request's first byte written to the
// response's last byte read. A request that cannot be sent while its connection waits for
// a late answer is not counted (coordinated omission), but with 50 connections each busy
// ~3% of the time, nearly every request due during a stall goes out on another connection
// and is counted with its wait.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runToEnd } from './proc.ts';

const SCRIPT = `-- bench/lib/fixed-rate.ts: exponential gaps (mean WRK_MEAN_MS) between requests on each connection.
local mean = tonumber(os.getenv("WRK_MEAN_MS"))
math.randomseed(tonumber(os.getenv("WRK_SEED")))
function delay()
  return math.floor(-math.log(1 - math.random()) * mean + 0.5)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("FIXED-RATE {\\"requests\\":%d,\\"durationUs\\":%d,\\"errors\\":%d,\\"non2xx\\":%d,\\"p50\\":%d,\\"p90\\":%d,\\"p99\\":%d,\\"p999\\":%d,\\"max\\":%d,\\"mean\\":%f}\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean))
end
`;

export type FixedRateResult = {
  requests: number;
  /** Requests answered per second over the measured run. */
  achievedRate: number;
  /** Socket errors: connect, read, write, timeout. */
  errors: number;
  /** Answers other than 2xx/3xx. */
  non2xx: number;
  /** The mean gap wrk was given after calibration, ms. */
  meanGapMs: number;
  ms: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  /** Time the hypervisor ran something else on each CPU during the measured run (/proc/stat steal), ms. */
  stealMs: number[];
  /** Wall-clock bounds of the measured run (Date.now()). */
  startedAt: number;
  endedAt: number;
};

export type FixedRateOptions = {
  wrk: string;
  url: string;
  rate: number;
  connections: number;
  seconds: number;
  core: number | null;
  /** Where the Lua script is written. */
  dir: string;
};

type WrkRun = { requests: number; durationUs: number; errors: number; non2xx: number; p50: number; p90: number; p99: number; p999: number; max: number; mean: number };

async function wrkRun(o: FixedRateOptions, script: string, meanGapMs: number, seconds: number, seed: number): Promise<WrkRun> {
  const r = await runToEnd([o.wrk, '-t1', `-c${o.connections}`, `-d${seconds}s`, '--timeout', '5s', '-s', script, o.url], {
    core: o.core,
    timeoutMs: (seconds + 30) * 1000,
    env: { ...process.env, WRK_MEAN_MS: meanGapMs.toFixed(3), WRK_SEED: String(seed) },
  });
  const m = /^FIXED-RATE (\{.*\})$/m.exec(r.stdout);
  if (r.code !== 0 || !m) throw new Error(`wrk (fixed rate) failed (${r.code}): ${r.stderr}${r.stdout}`);
  return JSON.parse(m[1]!) as WrkRun;
}

/** Jiffies (1/100 s) of steal time per CPU, from /proc/stat; empty where it cannot be read. */
function steal(): number[] {
  try {
    return readFileSync('/proc/stat', 'latin1')
      .split('\n')
      .filter((l) => /^cpu\d+ /.test(l))
      .map((l) => Number(l.trim().split(/\s+/)[8] ?? 0));
  } catch {
    return [];
  }
}

export async function runFixedRate(o: FixedRateOptions): Promise<FixedRateResult> {
  const script = join(o.dir, 'fixed-rate.lua');
  writeFileSync(script, SCRIPT);
  const cycleMs = (o.connections * 1000) / o.rate;
  // Calibration (also the warm-up at this rate), twice: what a cycle costs beyond its gap.
  let meanGapMs = cycleMs;
  for (let i = 1; i <= 2; i++) {
    const cal = await wrkRun(o, script, meanGapMs, 1, i);
    const calCycleMs = (o.connections * 1000) / (cal.requests / (cal.durationUs / 1e6));
    meanGapMs = Math.max(0.5, meanGapMs - (calCycleMs - cycleMs));
  }
  const s0 = steal();
  const startedAt = Date.now();
  const run = await wrkRun(o, script, meanGapMs, o.seconds, 3);
  const endedAt = Date.now();
  const s1 = steal();
  const us = (x: number) => x / 1000;
  return {
    requests: run.requests,
    achievedRate: run.requests / (run.durationUs / 1e6),
    errors: run.errors,
    non2xx: run.non2xx,
    meanGapMs,
    ms: { p50: us(run.p50), p90: us(run.p90), p99: us(run.p99), p999: us(run.p999), max: us(run.max), mean: us(run.mean) },
    stealMs: s1.map((x, i) => (x - (s0[i] ?? x)) * 10),
    startedAt,
    endedAt,
  };
}
