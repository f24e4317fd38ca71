// Everything a scenario runs against: its origins, its DNS server, its gateways in the
// order their placeholders require (an edge after the gateway it forwards to), and maybe
// another proxy in place of the gateway under load. Whatever started is closed again, also
// when a later part fails to start.
import { Writable } from 'node:stream';
import { parse, stringify } from 'yaml';
import { defaultConfig } from '../../config/load.ts';
import type { ConfigInput } from '../../config/schema.ts';
import { type RunningGateway, startGateway } from '../../gateway.ts';
import { type RunningDnsServer, startDnsServer } from '../dns-server.ts';
import { type RunningOrigin, startOrigin } from '../origin.ts';
import { gatewayRefs, substitute, substituteDeep, urlVars, type Vars } from './placeholders.ts';
import { type RunningProxy, startProxy } from './proxy-process.ts';
import type { GatewaySpec, ProxySpec, Scenario } from './schema.ts';

export type Target = { kind: 'gatewise' | 'proxy'; name: string; url: string };

export type Environment = {
  readonly origins: ReadonlyMap<string, RunningOrigin>;
  readonly dns: RunningDnsServer | null;
  readonly gateways: ReadonlyMap<string, RunningGateway>;
  readonly proxy: RunningProxy | null;
  readonly target: Target;
  close(): Promise<void>;
};

export type EnvironmentOptions = {
  /** Another proxy takes the place of the target gateway. */
  proxy?: { spec: ProxySpec; port: number; keepDir?: boolean } | undefined;
  /** Where gateway errors go (the access log is dropped: the report says what users saw). */
  warn?: (line: string) => void;
};

export async function startEnvironment(s: Scenario, o: EnvironmentOptions = {}): Promise<Environment> {
  const origins = new Map<string, RunningOrigin>();
  const gateways = new Map<string, RunningGateway>();
  let dns: RunningDnsServer | null = null;
  let proxy: RunningProxy | null = null;
  const vars: Vars = new Map();
  const where = s.file ?? s.name;

  const close = async () => {
    await proxy?.stop();
    // Outermost first, so no gateway is left forwarding to one that is gone.
    for (const g of [...gateways.values()].reverse()) await g.stop(500);
    await Promise.all([...origins.values()].map((x) => x.close()));
    await dns?.close();
  };

  try {
    for (const spec of s.origins) {
      const port = typeof spec.port === 'string' ? Number(substitute(spec.port, vars, `${where} origins.${spec.name}.port`)) : spec.port;
      if (port !== undefined && !Number.isInteger(port)) throw new Error(`${where}: origins.${spec.name}.port is not a port`);
      const origin = await startOrigin({ ...spec.options, ...(port === undefined ? {} : { port }) });
      origins.set(spec.name, origin);
      // An offline origin has no live URL yet, but its address is already decided.
      for (const [k, v] of urlVars('origin', spec.name, origin.url)) vars.set(k, v);
    }
    if (s.dns) {
      dns = await startDnsServer({ records: s.dns.records, ttl: s.dns.ttl, mode: s.dns.mode });
      vars.set('dns.address', dns.address);
      vars.set('dns.port', String(dns.port));
    }
    const replaced = o.proxy ? s.load.target : null;
    for (const spec of startOrder(s)) {
      if (spec.name === replaced) continue;
      if (replaced !== null && gatewayRefs(spec.fragment).has(replaced)) {
        throw new Error(`${where}: gateway "${spec.name}" forwards to "${replaced}", which the proxy replaces`);
      }
      const gw = await startFragment(spec, vars, `${where} ${spec.path}`, o.warn ?? ((l) => process.stderr.write(`${l}\n`)));
      gateways.set(spec.name, gw);
      for (const [k, v] of urlVars('gateway', spec.name, gw.url)) vars.set(k, v);
    }
    if (o.proxy) proxy = await startProxy({ spec: o.proxy.spec, vars, port: o.proxy.port, keepDir: o.proxy.keepDir ?? false });
  } catch (err) {
    await close();
    throw err;
  }

  const target: Target = proxy
    ? { kind: 'proxy', name: proxy.name, url: proxy.url }
    : { kind: 'gatewise', name: gateways.get(s.load.target)!.config.name, url: gateways.get(s.load.target)!.url };
  return { origins, dns, gateways, proxy, target, close };
}

/** Declaration order, except that a gateway waits for those its placeholders name. */
function startOrder(s: Scenario): Scenario['gateways'] {
  const pending = [...s.gateways];
  const out: Scenario['gateways'] = [];
  const names = new Set(pending.map((g) => g.name));
  while (pending.length > 0) {
    const i = pending.findIndex((g) => [...gatewayRefs(g.fragment)].every((r) => !names.has(r) || out.some((d) => d.name === r)));
    if (i < 0) throw new Error(`${s.file ?? s.name}: gateways ${pending.map((g) => g.name).join(', ')} refer to each other in a cycle`);
    out.push(pending.splice(i, 1)[0]!);
  }
  return out;
}

async function startFragment(spec: GatewaySpec, vars: Vars, label: string, warn: (line: string) => void): Promise<RunningGateway> {
  const { name, fragment } = spec;
  const text = typeof fragment === 'string' ? fragment : stringify(fragment);
  const input = (substituteDeep(parse(text) ?? {}, vars, label) ?? {}) as Record<string, unknown>;
  input['listen'] ??= '127.0.0.1:0';
  const log = (input['log'] ?? {}) as Record<string, unknown>;
  input['log'] = { ...log, access: 'off', format: 'json' };
  const config = defaultConfig(input as ConfigInput, { source: label });
  return startGateway(config, { accessStream: sink(), eventStream: errorsTo(name, warn) });
}

function sink(): Writable {
  return new Writable({ write: (_c, _e, cb) => cb() });
}

/** Only the gateway's own errors (pino level ≥ 50) are worth interrupting the report for. */
function errorsTo(name: string, warn: (line: string) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const line of chunk.toString().split('\n')) {
        if (!line.trim()) continue;
        try {
          const rec = JSON.parse(line) as { level?: number; msg?: string };
          if ((rec.level ?? 0) >= 50) warn(`gateway ${name}: ${rec.msg ?? line}`);
        } catch {
          warn(`gateway ${name}: ${line}`);
        }
      }
      cb();
    },
  });
}
