// The lab's failure scenarios against gatewise, nginx and HAProxy: what users saw. gatewise
// runs lab/scenarios/protected/NAME.yaml as it is; nginx and HAProxy run the copy in
// bench/scenarios/NAME.yaml, which adds their `proxies:` and must otherwise be identical.
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { loadScenarioFile, type Report, runScenario, runScenarioFile } from '../../src/lab/scenario/runner.ts';

/** Every scenario with a copy under bench/scenarios/. */
export const ALL_SCENARIOS = ['offline', 'offline-post', 'blackhole', 'keepalive-race', 'keepalive-race-announced', 'overload', 'dns', 'deploy'] as const;
/** What a full bench runs: the project's list (offline-post on request, it costs 30 s). */
export const SCENARIOS = ALL_SCENARIOS.filter((s) => s !== 'offline-post');
/** The lab's client sends at most one request per connection; this many leave none unsent. */
export const WIDE_CONNECTIONS = 1000;
export const RESILIENCE_PROXIES = ['gatewise', 'nginx', 'haproxy'] as const;
export type ResilienceProxy = (typeof RESILIENCE_PROXIES)[number];

/** Where the project requires zero user-visible errors. */
export const ZERO_REQUIRED: readonly string[] = ['offline', 'blackhole', 'keepalive-race', 'keepalive-race-announced', 'dns', 'deploy'];

export type ScenarioOutcome = {
  scenario: string;
  proxy: ResilienceProxy;
  run: number;
  /** The lab client's connections: the scenario's own, or WIDE_CONNECTIONS in the rerun. */
  connections: number;
  sent: number;
  ok: number;
  /** Not 2xx, plus no complete response at all. */
  errors: number;
  byStatus: Record<string, number>;
  connErr: number;
  /** Sends the lab's client skipped because all its connections were busy (not in `sent`). */
  skipped: number;
  /** Errors by request method (GET, POST). */
  byMethod: Record<string, number>;
  causes: Record<string, number>;
  p50Ms: number | null;
  p99Ms: number | null;
  /** gatewise only: the scenario file's own expect: held. */
  expectOk: boolean | null;
};

const root = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
export const protectedFile = (s: string) => root(`lab/scenarios/protected/${s}.yaml`);
export const copyFile = (s: string) => root(`bench/scenarios/${s}.yaml`);

/** Throws when a copy under bench/scenarios/ no longer matches its protected scenario. */
export function checkCopies(): void {
  for (const s of ALL_SCENARIOS) {
    const a = loadScenarioFile(protectedFile(s));
    const b = loadScenarioFile(copyFile(s));
    const strip = (x: typeof a) => ({ ...x, file: null, proxies: {} });
    if (!isDeepStrictEqual(strip(a), strip(b))) {
      throw new Error(`bench/scenarios/${s}.yaml differs from lab/scenarios/protected/${s}.yaml beyond its proxies: copy the scenario again`);
    }
    for (const p of ['nginx', 'haproxy']) if (!b.proxies[p]) throw new Error(`bench/scenarios/${s}.yaml has no proxies.${p}`);
  }
}

export async function runOne(scenario: string, proxy: ResilienceProxy, run: number, log: (l: string) => void, connections?: number): Promise<ScenarioOutcome> {
  const file = proxy === 'gatewise' ? protectedFile(scenario) : copyFile(scenario);
  const opts = { ...(proxy === 'gatewise' ? {} : { proxy: { name: proxy } }), log };
  let report: Report;
  if (connections === undefined) report = await runScenarioFile(file, opts);
  else {
    const sc = loadScenarioFile(file);
    report = await runScenario({ ...sc, load: { ...sc.load, connections } }, opts);
  }
  const t = report.total;
  const byMethod: Record<string, number> = {};
  for (const r of report.requests) {
    const failed = r.code !== null || r.status === null || r.status < 200 || r.status >= 300;
    if (failed) byMethod[r.method] = (byMethod[r.method] ?? 0) + 1;
  }
  const byStatus: Record<string, number> = {};
  for (const k of ['502', '503', '504', 'other'] as const) if (t[k] > 0) byStatus[k] = t[k];
  return {
    scenario,
    proxy,
    run,
    connections: report.load.connections,
    sent: t.sent,
    ok: t['2xx'],
    errors: t.sent - t['2xx'],
    byStatus,
    connErr: t.connErr,
    skipped: t.skipped,
    byMethod,
    causes: t.causes,
    p50Ms: t.p50Ms,
    p99Ms: t.p99Ms,
    expectOk: report.expectations ? report.expectations.every((e) => e.ok) : null,
  };
}

export async function runResilience(runs: number, log: (l: string) => void, scenarios: readonly string[]): Promise<ScenarioOutcome[]> {
  checkCopies();
  const out: ScenarioOutcome[] = [];
  const warnings: string[] = [];
  const one = async (s: string, p: ResilienceProxy, run: number, connections?: number) => {
    const o = await runOne(s, p, run, (l) => warnings.push(`${s}/${p}: ${l}`), connections);
    const detail = [...Object.entries(o.causes).map(([k, v]) => `${k}×${v}`), ...(Object.keys(o.causes).length === 0 ? Object.entries(o.byStatus).map(([k, v]) => `${k}×${v}`) : [])];
    log(
      `  ${s.padEnd(24)} ${p.padEnd(8)} ${connections ? `${connections} conns` : `run ${run}`}: ${o.errors} errors of ${o.sent}${detail.length > 0 ? ` (${detail.join(', ')})` : ''}${o.skipped > 0 ? `, ${o.skipped} not sent` : ''}`,
    );
    out.push(o);
    return o;
  };
  for (let run = 1; run <= runs; run++) {
    for (const s of scenarios) {
      // Interleaved: the three proxies meet each scenario one after the other, rotating who goes first.
      for (const p of rotate(RESILIENCE_PROXIES, run - 1 + scenarios.indexOf(s))) await one(s, p, run);
    }
  }
  // A send the lab's client skipped (all its connections waiting) is a user nobody answered,
  // but not an error the table can count. Where any proxy made the client skip, the scenario
  // runs again for all three with enough connections that every request is sent.
  const skipped = scenarios.filter((s) => out.some((o) => o.scenario === s && o.skipped > 0));
  if (skipped.length > 0) log(`  again with ${WIDE_CONNECTIONS} client connections, so that every request is sent: ${skipped.join(', ')}`);
  for (const s of skipped) for (const p of RESILIENCE_PROXIES) await one(s, p, 1, WIDE_CONNECTIONS);
  // The gateways' own error lines (level ≥ 50), for the record; the report counts what users saw.
  for (const w of warnings.slice(0, 10)) log(`  (lab) ${w}`);
  if (warnings.length > 10) log(`  (lab) … ${warnings.length - 10} more`);
  return out;
}

export function rotate<T>(xs: readonly T[], k: number): T[] {
  const n = ((k % xs.length) + xs.length) % xs.length;
  return [...xs.slice(n), ...xs.slice(0, n)];
}
