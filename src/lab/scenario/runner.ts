// `gatewise lab run`: start what a scenario describes, drive the load and the timeline on
// one clock, and report what users saw. The public API of the scenario lab is here.
import { formatSize } from '../../config/duration.ts';
import { type Environment, startEnvironment } from './environment.ts';
import { checkExpectations } from './expect.ts';
import { loadScenarioFile } from './load-file.ts';
import { runLoad } from './load-generator.ts';
import type { Report } from './report.ts';
import { summarize } from './report.ts';
import type { MixEntry, ProxySpec, Scenario } from './schema.ts';
import { startTimeline } from './timeline.ts';

export type { ChainMember, RequestRecord } from './load-generator.ts';
export type { ChainCount, ExpectationResult, Report, ReportRow } from './report.ts';
export type { Scenario } from './schema.ts';
export { loadScenarioFile, parseScenarioText, ScenarioError } from './load-file.ts';
export { formatReport } from './table.ts';

export type ProxyChoice =
  /** One of the scenario's `proxies:`. */
  | { name: string; port?: number }
  /** A proxy given on the command line. */
  | { spec: ProxySpec; port?: number };

export type RunOptions = {
  /** Run the load against another proxy instead of the scenario's target gateway. */
  proxy?: ProxyChoice | undefined;
  /** Keep the proxy's directory (config, logs) after the run. */
  keepProxyDir?: boolean;
  /** Stops sending early; the report covers what was sent. */
  signal?: AbortSignal | undefined;
  /** Progress and gateway errors (stderr by default). */
  log?: (line: string) => void;
};

export async function runScenarioFile(file: string, opts: RunOptions = {}): Promise<Report> {
  return runScenario(loadScenarioFile(file), opts);
}

export async function runScenario(s: Scenario, opts: RunOptions = {}): Promise<Report> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const proxy = opts.proxy ? { spec: proxySpec(s, opts.proxy), port: opts.proxy.port ?? 0, keepDir: opts.keepProxyDir ?? false } : undefined;
  const env: Environment = await startEnvironment(s, { proxy, warn: log });
  try {
    const startAt = performance.now();
    const timeline = startTimeline(s.timeline, env, startAt);
    const { records, skipped } = await runLoad({
      url: env.target.url,
      rate: s.load.rate,
      burst: s.load.burst,
      durationMs: s.load.durationMs,
      connections: s.load.connections,
      timeoutMs: s.load.timeoutMs,
      mix: s.load.mix,
      startAt,
      signal: opts.signal,
    });
    await timeline.finish();
    const summary = summarize(records, skipped, Math.ceil(s.load.durationMs / 1000));
    return {
      scenario: s.name,
      description: s.description,
      file: s.file,
      target: env.target,
      load: { rate: s.load.rate, burst: s.load.burst, durationMs: s.load.durationMs, connections: s.load.connections, timeoutMs: s.load.timeoutMs, mix: mixText(s.load.mix) },
      timeline: [...timeline.events],
      ...summary,
      // Expectations describe gatewise; another proxy is measured, not judged.
      expectations: env.target.kind === 'gatewise' ? checkExpectations(s.expect, summary, records) : null,
      requests: records,
      origins: Object.fromEntries([...env.origins].map(([name, o]) => [name, { ...o.stats }])),
    };
  } finally {
    await env.close();
  }
}

function proxySpec(s: Scenario, choice: ProxyChoice): ProxySpec {
  if ('spec' in choice) return choice.spec;
  const spec = s.proxies[choice.name];
  if (!spec) {
    const known = Object.keys(s.proxies);
    throw new Error(`scenario ${s.name} has no proxy "${choice.name}"${known.length > 0 ? ` (proxies: ${known.join(', ')})` : ' (it declares no proxies:)'}`);
  }
  return spec;
}

function mixText(mix: readonly MixEntry[]): string {
  return mix
    .map((m) => `${m.method} ${m.path}${m.bodyBytes > 0 ? ` ${formatSize(m.bodyBytes)}` : ''}${mix.length > 1 ? ` ×${m.share}` : ''}`)
    .join(', ');
}

/** The report for `--json`: per-request records only when asked for, they can be thousands. */
export function reportJson(r: Report, withRequests = false): string {
  const { requests, ...rest } = r;
  return `${JSON.stringify(withRequests ? r : { ...rest, requestCount: requests.length }, null, 2)}\n`;
}
