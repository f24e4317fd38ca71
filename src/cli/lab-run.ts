// `gatewise lab run SCENARIO`: a whole failure scenario under load, and a table of what
// users saw each second. The same scenario can run against another proxy (--proxy), so
// gatewise, nginx and HAProxy meet the same failure.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { formatReport, type ProxyChoice, reportJson, runScenario, loadScenarioFile, ScenarioError } from '../lab/scenario/runner.ts';

export type LabRunIo = {
  out?: (text: string) => void;
  err?: (line: string) => void;
  /** Stops the run as Ctrl-C would (tests). */
  signal?: AbortSignal;
};

const USAGE = `usage: gatewise lab run SCENARIO [options]

Starts the scenario's origins, DNS server and gateways on loopback, sends its load while
its timeline breaks things, and prints what users saw each second.

options:
  --json                 print the report as JSON instead of the table
  --json-out FILE        also write the JSON report to FILE
  --requests             include every request in the JSON (sent time, status, chain, latency)
  --proxy NAME           run against one of the scenario's proxies: instead of its gateway
  --proxy-cmd CMD        run against another proxy started by CMD; {conf} {dir} {port} are
                         replaced by its config file, a private directory and its port
  --proxy-config FILE    config template for --proxy-cmd (\${origin.NAME.url}, \${proxy.port}, …)
  --proxy-port N         the port the proxy listens on (default: a free one, as {port})
  --keep-proxy-dir       keep the proxy's directory (config, logs) after the run

exit status: 0 when the scenario's expect: holds (or declares nothing), 1 when it does not,
2 for a usage or scenario error.

examples:
  gatewise lab run lab/scenarios/offline.yaml
  gatewise lab run lab/scenarios/offline.yaml --proxy nginx
  gatewise lab run lab/scenarios/deploy.yaml --json > deploy.json`;

export async function labRunCommand(argv: string[], io: LabRunIo = {}): Promise<number> {
  const out = io.out ?? ((t: string) => process.stdout.write(t));
  const err = io.err ?? ((l: string) => process.stderr.write(`${l}\n`));
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (e) {
    err(`gatewise lab run: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.values.help) {
    out(`${USAGE}\n`);
    return 0;
  }
  const file = args.positionals[0];
  if (file === undefined || args.positionals.length > 1) {
    err(`gatewise lab run: ${file === undefined ? 'which scenario?' : 'one scenario at a time'}\n\n${USAGE}`);
    return 2;
  }

  let proxy: ProxyChoice | undefined;
  let scenario: ReturnType<typeof loadScenarioFile>;
  try {
    scenario = loadScenarioFile(file);
    proxy = proxyChoice(args.values);
  } catch (e) {
    err(e instanceof ScenarioError ? e.message : `gatewise lab run: ${(e as Error).message}`);
    return 2;
  }

  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  io.signal?.addEventListener('abort', onSignal, { once: true });
  try {
    const report = await runScenario(scenario, { proxy, signal: stop.signal, keepProxyDir: args.values['keep-proxy-dir'] ?? false, log: err });
    const json = reportJson(report, args.values.requests ?? false);
    if (args.values['json-out']) writeFileSync(args.values['json-out'], json);
    out(args.values.json ? json : formatReport(report));
    return report.expectations?.some((e) => !e.ok) ? 1 : 0;
  } catch (e) {
    err(`gatewise lab run: ${(e as Error).message}`);
    return 2;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      'json-out': { type: 'string' },
      requests: { type: 'boolean' },
      proxy: { type: 'string' },
      'proxy-cmd': { type: 'string' },
      'proxy-config': { type: 'string' },
      'proxy-port': { type: 'string' },
      'keep-proxy-dir': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function proxyChoice(v: ReturnType<typeof parse>['values']): ProxyChoice | undefined {
  let port: number | undefined;
  if (v['proxy-port'] !== undefined) {
    port = Number(v['proxy-port']);
    if (!/^\d{1,5}$/.test(v['proxy-port']) || port < 1 || port > 65535) throw new Error(`--proxy-port ${v['proxy-port']} is not a port`);
  }
  if (v.proxy !== undefined && v['proxy-cmd'] !== undefined) throw new Error('give --proxy NAME or --proxy-cmd CMD, not both');
  if (v['proxy-config'] !== undefined && v['proxy-cmd'] === undefined) throw new Error('--proxy-config goes with --proxy-cmd');
  if (v.proxy !== undefined) return { name: v.proxy, ...(port ? { port } : {}) };
  if (v['proxy-cmd'] === undefined) {
    if (port !== undefined) throw new Error('--proxy-port goes with --proxy or --proxy-cmd');
    return undefined;
  }
  const template = v['proxy-config'];
  const config = template === undefined ? null : readFileSync(template, 'utf8');
  const name = basename(v['proxy-cmd'].trim().split(/\s+/)[0] ?? 'proxy');
  return {
    spec: { name, command: v['proxy-cmd'], config, configName: template === undefined ? 'proxy.conf' : basename(template) },
    ...(port ? { port } : {}),
  };
}
