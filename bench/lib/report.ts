// The results as Markdown: medians with every run beside them, ratios taken within this one
// bench run, and the project's targets marked met or not with the measured figure.
import type { Provenance } from './env.ts';
import { MIB } from './bodies.ts';
import type { PerfSettings, RunResult } from './perf.ts';
import type { ProfileSummary } from './profile.ts';
import { ALL_SCENARIOS, RESILIENCE_PROXIES, type ScenarioOutcome, WIDE_CONNECTIONS, ZERO_REQUIRED } from './resilience.ts';
import { LABEL, TARGETS, type TargetName } from './targets.ts';

export type Results = {
  provenance: Provenance;
  settings: PerfSettings;
  commands: Record<string, string>;
  setup: Record<string, string>;
  perf: RunResult[];
  resilience: ScenarioOutcome[];
  profile: ProfileSummary | null;
  durationS: number;
};

export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = xs.toSorted((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const n0 = (x: number | null | undefined) => (x === null || x === undefined ? '–' : Math.round(x).toLocaleString('en-US'));
const n2 = (x: number | null | undefined) => (x === null || x === undefined ? '–' : x.toFixed(2));
const n1 = (x: number | null | undefined) => (x === null || x === undefined ? '–' : x.toFixed(1));
const mib = (b: number | null | undefined) => (b === null || b === undefined ? '–' : (b / MIB).toFixed(1));
const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? null : a / b);
const rx = (x: number | null) => (x === null ? '–' : `${x.toFixed(2)}×`);

type Metric = (r: RunResult) => number | null;

export const METRICS = {
  rps: (r: RunResult) => r.closed.rps,
  p50: (r: RunResult) => r.latency.ms.p50,
  p99: (r: RunResult) => r.latency.ms.p99,
  p999: (r: RunResult) => r.latency.ms.p999,
  down: (r: RunResult) => r.down.rps,
  up: (r: RunResult) => r.up.rps,
  rss: (r: RunResult) => r.memory?.peakBytes ?? null,
} satisfies Record<string, Metric>;

function runsOf(perf: readonly RunResult[], t: TargetName): RunResult[] {
  return perf.filter((r) => r.target === t).sort((a, b) => a.round - b.round);
}

export function med(perf: readonly RunResult[], t: TargetName, m: Metric): number | null {
  return median(
    runsOf(perf, t)
      .map(m)
      .filter((x): x is number => x !== null),
  );
}

const each = (perf: readonly RunResult[], t: TargetName, m: Metric, f: (x: number | null) => string) =>
  runsOf(perf, t)
    .map((r) => f(m(r)))
    .join(' / ');

/** Ratios within each round (the two ran minutes apart at most), then their median. */
export function roundRatios(perf: readonly RunResult[], a: TargetName, b: TargetName, m: Metric): number[] {
  const out: number[] = [];
  for (const ra of runsOf(perf, a)) {
    const rb = perf.find((r) => r.target === b && r.round === ra.round);
    const x = rb ? ratio(m(ra), m(rb)) : null;
    if (x !== null) out.push(x);
  }
  return out;
}

export type Target = { target: string; measured: string; met: boolean | null };

export function targets(res: Results): Target[] {
  const p = res.perf;
  const out: Target[] = [];
  const rr = (b: TargetName, goal: number, text: string) => {
    const r = ratio(med(p, 'gatewise', METRICS.rps), med(p, b, METRICS.rps));
    out.push({
      target: `closed-loop req/s ≥ ${goal}× ${text}`,
      measured: r === null ? 'not measured' : `${rx(r)} (${n0(med(p, 'gatewise', METRICS.rps))} vs ${n0(med(p, b, METRICS.rps))} req/s; per round ${roundRatios(p, 'gatewise', b, METRICS.rps).map(rx).join(', ')})`,
      met: r === null ? null : r >= goal,
    });
  };
  rr('fastify', 2, '@fastify/http-proxy');
  rr('http-proxy', 2.5, 'http-proxy');
  rr('nginx', 0.45, 'nginx');
  const p99 = med(p, 'gatewise', METRICS.p99);
  const p999 = med(p, 'gatewise', METRICS.p999);
  out.push({ target: `p99 ≤ 1 ms at ${res.settings.rate.toLocaleString('en-US')} req/s`, measured: `${n2(p99)} ms (runs ${each(p, 'gatewise', METRICS.p99, n2)})`, met: p99 === null ? null : p99 <= 1 });
  out.push({ target: `p99.9 ≤ 3 ms at ${res.settings.rate.toLocaleString('en-US')} req/s`, measured: `${n2(p999)} ms (runs ${each(p, 'gatewise', METRICS.p999, n2)})`, met: p999 === null ? null : p999 <= 3 });
  const rss = med(p, 'gatewise', METRICS.rss);
  out.push({
    target: `${res.settings.idleConnections.toLocaleString('en-US')} keep-alive connections under 100 MB resident`,
    measured: rss === null ? 'not measured' : `${(rss / 1e6).toFixed(1)} MB peak (${mib(rss)} MiB; runs ${each(p, 'gatewise', METRICS.rss, (x) => (x === null ? '–' : (x / 1e6).toFixed(1)))} MB)`,
    met: rss === null ? null : rss < 100e6,
  });
  for (const s of ALL_SCENARIOS) {
    // Judged on the run where every request was sent, when the scenario needed one.
    const wide = res.resilience.some((o) => o.scenario === s && o.connections === WIDE_CONNECTIONS);
    const errs = (proxy: string) =>
      median(res.resilience.filter((o) => o.scenario === s && o.proxy === proxy && (o.connections === WIDE_CONNECTIONS) === wide).map((o) => o.errors));
    const [g, n, h] = [errs('gatewise'), errs('nginx'), errs('haproxy')];
    if (g === null || n === null || h === null) continue;
    const better = Math.min(n, h);
    const zero = ZERO_REQUIRED.includes(s);
    const failing = [n, h].filter((x) => x > 0);
    // Never more than the better one; strictly fewer than any that fails; zero where required.
    const met = g <= better && failing.every((x) => g < x) && (!zero || g === 0);
    out.push({
      target: `resilience ${s}: ≤ better of nginx/HAProxy${failing.length > 0 ? ', strictly fewer' : ''}${zero ? ', zero' : ''}`,
      measured: `gatewise ${g}, nginx ${n}, HAProxy ${h}${wide ? ` (run with ${WIDE_CONNECTIONS} client connections, every request sent)` : ''}`,
      met,
    });
  }
  return out;
}

export function markdown(res: Results): string {
  const p = res.perf;
  const pv = res.provenance;
  const s = res.settings;
  const present = TARGETS.filter((t) => p.some((r) => r.target === t));
  const L: string[] = [];
  const table = (head: string[], rows: string[][]) => {
    L.push(`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`), '');
  };

  L.push('### Where the figures come from', '');
  table(
    ['', ''],
    [
      ['date', pv.date],
      ['machine', `${pv.machine} (\`/proc/cpuinfo\` model name, \`nproc\`)`],
      ['kernel', pv.kernel],
      ['load average at start', pv.loadavg],
      ['noise floor', `a busy loop, 3 s on each CPU before the run, was paused up to ${pv.stalls.map((x) => `${x.maxMs.toFixed(1)} ms on CPU ${x.core} (${x.over1ms}× > 1 ms)`).join(', ')}`],
      ['node', pv.node],
      ['nginx', pv.nginx],
      ['HAProxy', pv.haproxy],
      ['wrk', pv.wrk],
      ['undici (gatewise, @fastify/http-proxy, load generators)', pv.undici],
      ['fastify / @fastify/http-proxy / http-proxy', `${pv.fastify} / ${pv.fastifyHttpProxy} / ${pv.httpProxy}`],
      ['gatewise', `${pv.gatewise}, commit ${pv.gitCommit}`],
      ['pinning', pv.pinning],
      ['runs', `${s.runs} per configuration, interleaved; medians reported, every run listed (run 1 / run 2 / …)`],
      ['whole bench', `${Math.round(res.durationS)} s`],
    ],
  );

  if (p.length > 0) {
    L.push(`### Closed loop: \`wrk -t1 -c64 -d${s.seconds}s\`, GET / (150-byte body)`, '');
    table(
      ['configuration', 'req/s (median)', 'req/s per run', 'p50 ms', 'p99 ms', 'proxy CPU µs/request', 'proxy CPU use', 'errors'],
      present.map((t) => {
        const runs = runsOf(p, t);
        return [
          LABEL[t],
          `**${n0(med(p, t, METRICS.rps))}**`,
          each(p, t, METRICS.rps, n0),
          n2(med(p, t, (r) => r.closed.p50Ms)),
          n2(med(p, t, (r) => r.closed.p99Ms)),
          t === 'direct' ? '–' : n1(med(p, t, (r) => r.closed.cpuUsPerRequest)),
          t === 'direct' ? '–' : `${n0((med(p, t, (r) => r.closed.cpuShare) ?? 0) * 100)}%`,
          String(runs.reduce((a, r) => a + r.closed.errors, 0)),
        ];
      }),
    );

    L.push(`### Fixed rate: ${s.rate.toLocaleString('en-US')} GET/s (Poisson arrivals, wrk), ${s.rateConnections} connections, ${s.seconds} s`, '');
    L.push(
      'Latency from the request\'s first byte written to the response\'s last byte read, as wrk measures it (ms, median of runs; per run in brackets). ' +
        'Each connection waits an exponentially distributed gap between an answer and its next request, its mean set by two 1 s calibration runs so that the rate holds (bench/lib/fixed-rate.ts). ' +
        '"Steal" is the time the hypervisor gave the proxy\'s CPU and the load\'s CPU to something else during the run (/proc/stat).',
      '',
    );
    table(
      ['configuration', 'p50', 'p90', 'p99', 'p99.9', 'max', 'achieved rate', 'steal, proxy / load CPU, ms', 'non-2xx + errors'],
      present.map((t) => [
        LABEL[t],
        n2(med(p, t, METRICS.p50)),
        n2(med(p, t, (r) => r.latency.ms.p90)),
        `**${n2(med(p, t, METRICS.p99))}** (${each(p, t, METRICS.p99, n2)})`,
        `**${n2(med(p, t, METRICS.p999))}** (${each(p, t, METRICS.p999, n2)})`,
        n1(med(p, t, (r) => r.latency.ms.max)),
        n0(med(p, t, (r) => r.latency.achievedRate)),
        runsOf(p, t)
          .map((r) => r.latency.stealMs.map((x) => n0(x)).join(' / '))
          .join(', '),
        String(runsOf(p, t).reduce((a, r) => a + r.latency.non2xx + r.latency.errors, 0)),
      ]),
    );
    const inside = runsOf(p, 'gatewise').filter((r) => r.inside !== null);
    if (inside.length > 0) {
      const m = (f: (r: RunResult) => number) => n2(median(inside.map(f)));
      L.push(
        `Inside gatewise, by its own access lines for the same window (durationMs, from the parsed request head to the response's end; median of runs): ` +
          `p50 ${m((r) => r.inside!.p50Ms)}, p99 **${m((r) => r.inside!.p99Ms)}** (${inside.map((r) => n2(r.inside!.p99Ms)).join(' / ')}), ` +
          `p99.9 **${m((r) => r.inside!.p999Ms)}** (${inside.map((r) => n2(r.inside!.p999Ms)).join(' / ')}), max ${m((r) => r.inside!.maxMs)} ms, ` +
          `over ${inside[0]!.inside!.lines.toLocaleString('en-US')} requests a run. The rest of the generator's figure is outside the proxy: the loopback, ` +
          'the wakeups of three processes on two virtual CPUs.',
        '',
      );
    }

    L.push(`### 1 MiB bodies: \`wrk -t1 -c16 -d${s.bigSeconds}s\` (requests/s = MiB/s)`, '');
    table(
      ['configuration', '1 MiB responses (median)', 'per run', '1 MiB uploads (median)', 'per run', 'errors'],
      present.map((t) => [
        LABEL[t],
        `**${n0(med(p, t, METRICS.down))}**`,
        each(p, t, METRICS.down, n0),
        `**${n0(med(p, t, METRICS.up))}**`,
        each(p, t, METRICS.up, n0),
        String(runsOf(p, t).reduce((a, r) => a + r.down.errors + r.up.errors, 0)),
      ]),
    );

    const memTargets = present.filter((t) => runsOf(p, t).some((r) => r.memory));
    if (memTargets.length > 0) {
      L.push(
        `### ${s.idleConnections.toLocaleString('en-US')} keep-alive connections, each 1 GET/s for ${s.idleSeconds} s: resident memory`,
        '',
        'VmRSS of the proxy process and its children (nginx: master + worker), from `/proc/PID/status`, sampled every 200 ms; the proxy freshly started.',
        '',
      );
      table(
        ['configuration', 'RSS at start MiB', 'peak RSS MiB (median)', 'peak per run', 'growth per connection KiB', 'answered / sent', 'p99 ms'],
        memTargets.map((t) => {
          const runs = runsOf(p, t).filter((r) => r.memory);
          const start = med(p, t, (r) => r.memory?.startBytes ?? null);
          const peak = med(p, t, METRICS.rss);
          return [
            LABEL[t],
            mib(start),
            `**${mib(peak)}**`,
            each(p, t, METRICS.rss, mib),
            start !== null && peak !== null ? n1((peak - start) / 1024 / s.idleConnections) : '–',
            `${runs.reduce((a, r) => a + r.memory!.load.ok, 0)} / ${runs.reduce((a, r) => a + r.memory!.load.sent, 0)}`,
            n2(med(p, t, (r) => r.memory?.load.p99Ms ?? null)),
          ];
        }),
      );
    }

    L.push('### Ratios (this run; median of the per-round ratios, ratio of medians in brackets)', '');
    const others: TargetName[] = (['nginx', 'direct', 'fastify', 'http-proxy', 'haproxy', 'llhttp', 'floor', 'node-http'] as const).filter((t) => present.includes(t) && present.includes('gatewise'));
    const cell = (b: TargetName, m: Metric, f: (x: number | null) => string) => `${f(median(roundRatios(p, 'gatewise', b, m)))} (${f(ratio(med(p, 'gatewise', m), med(p, b, m)))})`;
    table(
      ['gatewise / …', 'closed-loop req/s', 'p99 at fixed rate', 'p99.9 at fixed rate', '1 MiB responses/s', '1 MiB uploads/s', `peak RSS at ${s.idleConnections} conns`],
      others.map((b) => [
        LABEL[b],
        `**${cell(b, METRICS.rps, rx)}**`,
        cell(b, METRICS.p99, rx),
        cell(b, METRICS.p999, rx),
        cell(b, METRICS.down, rx),
        cell(b, METRICS.up, rx),
        b === 'direct' ? '–' : cell(b, METRICS.rss, rx),
      ]),
    );
  }

  if (res.resilience.length > 0) {
    L.push('### Resilience: user-visible errors per scenario (non-2xx + no complete response)', '');
    const cellR = (sc: string, proxy: string, wide: boolean) => {
      const os = res.resilience.filter((o) => o.scenario === sc && o.proxy === proxy && (o.connections === WIDE_CONNECTIONS) === wide);
      if (os.length === 0) return '–';
      return os
        .map((o) => {
          const kinds = Object.keys(o.causes).length > 0 ? o.causes : o.byStatus;
          const causes = Object.entries(kinds)
            .map(([k, v]) => `${k}×${v}`)
            .join(', ');
          const methods = Object.keys(o.byMethod).length > 1 || (Object.keys(o.byMethod)[0] ?? 'GET') !== 'GET' ? ` [${Object.entries(o.byMethod).map(([k, v]) => `${k} ${v}`).join(', ')}]` : '';
          const p99 = o.p99Ms === null ? '' : `, p99 ${o.p99Ms >= 1000 ? `${(o.p99Ms / 1000).toFixed(1)} s` : `${Math.round(o.p99Ms)} ms`}`;
          return `**${o.errors}**/${o.sent}${causes ? ` (${causes})` : ''}${methods}${o.skipped > 0 ? `, ${o.skipped} not sent` : ''}${p99}`;
        })
        .join('; ');
    };
    const rows: string[][] = [];
    for (const sc of ALL_SCENARIOS) {
      for (const wide of [false, true]) {
        if (!res.resilience.some((o) => o.scenario === sc && (o.connections === WIDE_CONNECTIONS) === wide)) continue;
        const label = `${sc}${wide ? `, ${WIDE_CONNECTIONS} client connections` : ''}${ZERO_REQUIRED.includes(sc) ? ' (target 0)' : ''}`;
        rows.push([label, ...RESILIENCE_PROXIES.map((x) => cellR(sc, x, wide))]);
      }
    }
    L.push(
      'errors/sent (Proxy-Status error or client error code; the status when the proxy sends no Proxy-Status) [by method when not all GET], and the p99 latency of all requests. "not sent": the lab client had all its connections waiting and skipped the send, a user nobody answered; such a scenario is run again with enough connections.',
      '',
    );
    table(['scenario', 'gatewise', 'nginx', 'HAProxy'], rows);
  }

  const tg = targets(res);
  if (tg.length > 0) {
    L.push('### Targets', '');
    table(
      ['target', 'measured', 'met'],
      tg.map((t) => [t.target, t.measured, t.met === null ? '–' : t.met ? '**met**' : '**not met**']),
    );
  }

  if (res.profile) {
    const pr = res.profile;
    L.push(
      `### Profile: gatewise under \`wrk -t1 -c64\` (${n0(pr.wrk.requestsPerSec)} req/s while profiled), \`node --cpu-prof\``,
      '',
      `Samples of the ${pr.window}; ${(pr.busyShare * 100).toFixed(0)}% of them busy. Self time by area:`,
      '',
    );
    table(
      ['area', 'self ms', 'share of busy'],
      pr.areas.slice(0, 14).map((a) => [a.area, n0(a.selfMs), `${(a.share * 100).toFixed(1)}%`]),
    );
    L.push('Time with the area anywhere on the stack (its own code plus the native work it calls: the writes under pino, …; areas overlap):', '');
    table(
      ['area', 'ms', 'share of busy'],
      pr.inclusive.slice(0, 12).map((a) => [a.area, n0(a.ms), `${(a.share * 100).toFixed(1)}%`]),
    );
    L.push('Top functions by self time:', '');
    table(
      ['function', 'where (native: called from)', 'self ms', 'share of busy'],
      pr.top.map((e) => [`\`${e.fn}\``, e.where ? `\`${e.where}\`` : e.via ? `native, from \`${e.via}\`` : 'native', n0(e.selfMs), `${(e.share * 100).toFixed(1)}%`]),
    );
  }
  return L.join('\n');
}
