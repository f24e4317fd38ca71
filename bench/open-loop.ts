// Open-loop load: requests leave on a fixed schedule whatever the answers do (as users keep
// arriving), over an undici Pool of N keep-alive connections; latencies go into a
// perf_hooks histogram (nanoseconds). wrk is closed-loop and would hide queueing; wrk2 is not
// packaged. Prints one JSON object.
//   node bench/open-loop.ts --url http://127.0.0.1:8080/ --rate 5000 --connections 50 --duration 10 [--warmup 2]
//
// Two latencies are kept for every request:
//   - from dispatch: from the moment the request is handed to the pool (it may wait there for
//     a free connection, so queueing in the proxy still shows) to the last body byte;
//   - from schedule: from the moment it was due. This also counts the generator's own lateness
//     (its 1 ms timer, its CPU), as wrk2 does; reported beside, not as the headline.
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    rate: { type: 'string', default: '5000' },
    connections: { type: 'string', default: '50' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    timeout: { type: 'string', default: '5' },
  },
});
if (!values.url) {
  process.stderr.write('usage: open-loop.ts --url URL [--rate N] [--connections N] [--duration S] [--warmup S]\n');
  process.exit(2);
}
const url = new URL(values.url);
const rate = Number(values.rate);
const connections = Number(values.connections);
const durationS = Number(values.duration);
const warmupS = Number(values.warmup);
const timeoutMs = Number(values.timeout) * 1000;
if (!(rate > 0 && rate <= 50_000 && connections >= 1 && connections <= 1000 && durationS > 0 && durationS <= 60 && warmupS >= 0 && warmupS <= 30)) {
  process.stderr.write('open-loop: rate 1..50000, connections 1..1000, duration 1..60 s, warmup 0..30 s\n');
  process.exit(2);
}

const pool = new Pool(url.origin, { connections, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });

type Phase = { sent: number; ok: number; non2xx: number; errors: number; fromDispatch: RecordableHistogram; fromSchedule: RecordableHistogram; maxLagMs: number };
const phase = (): Phase => ({
  sent: 0,
  ok: 0,
  non2xx: 0,
  errors: 0,
  fromDispatch: createHistogram({ lowest: 1, highest: 60e9, figures: 3 }),
  fromSchedule: createHistogram({ lowest: 1, highest: 60e9, figures: 3 }),
  maxLagMs: 0,
});

/**
 * One request through pool.dispatch with a bare handler: no Readable per response, so the
 * generator spends as little of its (shared) CPU as undici allows on each request.
 */
function one(p: Phase, dueAt: number): Promise<void> {
  const start = performance.now();
  p.maxLagMs = Math.max(p.maxLagMs, start - dueAt);
  p.sent++;
  return new Promise((resolve) => {
    let status = 0;
    pool.dispatch(
      { origin: url.origin, path: url.pathname + url.search, method: 'GET' },
      {
        onConnect() {},
        onHeaders(statusCode) {
          status = statusCode;
          return true;
        },
        onData() {
          return true;
        },
        onComplete() {
          const end = performance.now();
          p.fromDispatch.record(Math.max(1, Math.round((end - start) * 1e6)));
          p.fromSchedule.record(Math.max(1, Math.round((end - dueAt) * 1e6)));
          if (status >= 200 && status < 300) p.ok++;
          else p.non2xx++;
          resolve();
        },
        onError() {
          p.errors++;
          resolve();
        },
      },
    );
  });
}

/** Sends `rate` requests a second for `seconds`, each at its due time (a 1 ms timer tick). */
async function drive(p: Phase, seconds: number): Promise<number> {
  const total = Math.round(rate * seconds);
  const inFlight = new Set<Promise<void>>();
  const t0 = performance.now();
  let n = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
      while (n < due) {
        const pr = one(p, t0 + (n * 1000) / rate);
        inFlight.add(pr);
        void pr.finally(() => inFlight.delete(pr));
        n++;
      }
      if (n < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  const sendSeconds = (performance.now() - t0) / 1000;
  await Promise.all(inFlight);
  return sendSeconds;
}

const pct = (h: RecordableHistogram, p: number) => (h.count > 0 ? h.percentile(p) / 1e6 : null);
const summary = (h: RecordableHistogram) => ({
  p50: pct(h, 50),
  p90: pct(h, 90),
  p99: pct(h, 99),
  p999: pct(h, 99.9),
  max: h.count > 0 ? h.max / 1e6 : null,
  mean: h.count > 0 ? h.mean / 1e6 : null,
});

if (warmupS > 0) await drive(phase(), warmupS);
const p = phase();
const sendSeconds = await drive(p, durationS);
await pool.close();
process.stdout.write(
  `${JSON.stringify({
    url: url.href,
    rate,
    connections,
    durationS,
    sent: p.sent,
    ok: p.ok,
    non2xx: p.non2xx,
    errors: p.errors,
    achievedRate: p.sent / sendSeconds,
    maxLagMs: p.maxLagMs,
    fromDispatchMs: summary(p.fromDispatch),
    fromScheduleMs: summary(p.fromSchedule),
  })}\n`,
);
