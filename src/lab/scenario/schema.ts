/**
 * What a scenario file may say: the origins and their faults, an optional DNS server, the
 * gateways (gatewise config fragments) or another proxy, the load, the timeline of what
 * breaks when, and what the run is expected to show. YAML keys are snake_case and durations
 * are written as in the gateway config (`5s`, `250ms`); what leaves this file is camelCase
 * with milliseconds, every default filled in.
 */
import { z } from 'zod';
import { parseDuration, parseSize } from '../../config/duration.ts';
import type { DnsMode } from '../dns-server.ts';
import { FAULT_KINDS, type FaultOptions } from '../faults/options.ts';

/** Every scenario must end well inside a test's patience; 25 s of load leaves room for setup. */
export const MAX_LOAD_MS = 25_000;
/** Bounds the memory of the per-request records and the sockets of the lab. */
export const MAX_REQUESTS = 20_000;

export const DNS_MODES = ['answer', 'nxdomain', 'servfail', 'timeout', 'refused'] as const satisfies readonly DnsMode[];
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

export type OriginSpec = {
  name: string;
  options: Omit<FaultOptions, 'port'>;
  /** A number, or a placeholder such as `${origin.a.port}` resolved when the origin starts. */
  port: number | string | undefined;
};

export type GatewaySpec = {
  name: string;
  /** Where it is written in the scenario, for messages: `gateway` or `gateways.NAME`. */
  path: string;
  /** A gatewise config: a YAML mapping or a YAML text, placeholders not yet substituted. */
  fragment: string | Record<string, unknown>;
};

export type ProxySpec = {
  name: string;
  /** argv, or one string split like a shell would (quotes, no expansion). */
  command: string | string[];
  /** Config template written to `${proxy.conf}` before the command runs. */
  config: string | null;
  /** File name of the written config, for proxies that care about the extension. */
  configName: string;
};

export type MixEntry = { method: (typeof METHODS)[number]; path: string; bodyBytes: number; share: number };

export type LoadSpec = {
  /** The gateway that receives the load; a proxy chosen at run time takes its place. */
  target: string;
  /** Requests per second, on average. */
  rate: number;
  /** Requests that leave together; groups are burst / rate seconds apart. */
  burst: number;
  durationMs: number;
  /** The most connections, hence requests in flight, the load generator opens. */
  connections: number;
  timeoutMs: number;
  mix: MixEntry[];
};

export type TimelineStep =
  | { atMs: number; kind: 'origin'; origin: string; action: 'stop' | 'start' }
  | { atMs: number; kind: 'dns'; mode: DnsMode | null; records: Record<string, string[]> | null };

export type Range = { min: number | null; max: number | null };

export type Expectations = {
  /** Every response that is not 2xx, plus connection errors. */
  errors: Range | null;
  connErr: Range | null;
  status: Record<string, Range>;
  /** Counts by the Proxy-Status error of the hop that broke. */
  proxyStatus: Record<string, Range>;
  /** Every failed request was sent inside this window (ms since the load started). */
  errorsBetween: [number, number] | null;
  /** Chains (as printed, client first) that must appear at least once. */
  chains: string[];
};

export type Scenario = {
  name: string;
  description: string;
  /** Where it was read from; null for a scenario built in code. */
  file: string | null;
  origins: OriginSpec[];
  dns: { records: Record<string, string[]>; ttl: number; mode: DnsMode } | null;
  gateways: GatewaySpec[];
  proxies: Record<string, ProxySpec>;
  load: LoadSpec;
  timeline: TimelineStep[];
  expect: Expectations;
};

type Ctx = z.RefinementCtx;

function fail(ctx: Ctx, message: string, path?: (string | number)[]): never {
  ctx.addIssue({ code: 'custom', message, ...(path ? { path } : {}) });
  return z.NEVER;
}

function duration(opts: { zero?: boolean } = {}) {
  return z.custom<string | number>(() => true).transform((v, ctx) => {
    const r = parseDuration(v);
    if (!r.ok) return fail(ctx, `${r.message} (${r.hint})`);
    if (r.value === 0 && !opts.zero) return fail(ctx, 'must be longer than 0');
    return r.value;
  });
}

function size() {
  return z.custom<string | number>(() => true).transform((v, ctx) => {
    const r = parseSize(v);
    return r.ok ? r.value : fail(ctx, `${r.message} (${r.hint})`);
  });
}

const range = z
  .strictObject({ min: z.number().min(0).optional(), max: z.number().min(0).optional() })
  .transform((r): Range => ({ min: r.min ?? null, max: r.max ?? null }));

const originSchema = z
  .strictObject({
    fault: z.enum(FAULT_KINDS),
    host: z.string().optional(),
    port: z.union([z.int().min(0).max(65535), z.string()]).optional(),
    body_bytes: size().optional(),
    latency: z.union([z.tuple([duration({ zero: true }), duration({ zero: true })]), duration({ zero: true })]).optional(),
    workers: z.int().min(1).optional(),
    service: duration().optional(),
    queue: z.int().min(0).optional(),
    up: duration().optional(),
    down: duration().optional(),
    delay: duration({ zero: true }).optional(),
    after: duration({ zero: true }).optional(),
    chunked: z.boolean().optional(),
    idle: duration().optional(),
    announce: z.boolean().optional(),
    junk: z.enum(['status-line', 'binary']).optional(),
    header_bytes: size().optional(),
    interval: duration().optional(),
  })
  .transform((o) => {
    const options: Omit<FaultOptions, 'port'> = { fault: o.fault };
    const set = <K extends keyof FaultOptions>(key: K, v: FaultOptions[K] | undefined) => {
      if (v !== undefined) (options as FaultOptions)[key] = v;
    };
    set('host', o.host);
    set('bodyBytes', o.body_bytes);
    set('latencyMs', o.latency);
    set('workers', o.workers);
    set('serviceMs', o.service);
    set('queue', o.queue);
    set('upMs', o.up);
    set('downMs', o.down);
    set('delayMs', o.delay);
    set('afterMs', o.after);
    set('chunked', o.chunked);
    set('idleMs', o.idle);
    set('announce', o.announce);
    set('junk', o.junk);
    set('headerBytes', o.header_bytes);
    set('intervalMs', o.interval);
    return { options, port: o.port };
  });

const records = z.record(z.string(), z.array(z.string()));

const fragment = z.union([z.string().min(1), z.record(z.string(), z.unknown())]);

const proxySchema = z.strictObject({
  command: z.union([z.string().min(1), z.array(z.string()).min(1)]),
  config: z.string().optional(),
  config_name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'a plain file name')
    .default('proxy.conf'),
});

const mixSchema = z.strictObject({
  method: z.enum(METHODS).default('GET'),
  path: z.string().startsWith('/').optional(),
  body: size().default(0),
  share: z.int().min(1).max(1000).default(1),
});

const loadSchema = z.strictObject({
  target: z.string().optional(),
  rate: z.number().positive().max(5000).optional(),
  /** Time between groups of `burst` requests: an alternative to rate. */
  interval: duration().optional(),
  burst: z.int().min(1).max(256).default(1),
  duration: duration(),
  connections: z.int().min(1).max(1000).default(64),
  timeout: duration().prefault('5s'),
  path: z.string().startsWith('/').default('/'),
  mix: z.array(mixSchema).min(1).default([{ method: 'GET', body: 0, share: 1 }]),
});

const stepSchema = z.union(
  [
  z.strictObject({ at: duration({ zero: true }), origin: z.string(), action: z.enum(['stop', 'start']) }),
  z.strictObject({
    at: duration({ zero: true }),
    dns: z.union([z.enum(DNS_MODES), z.strictObject({ mode: z.enum(DNS_MODES).optional(), records: records.optional() })]),
  }),
  ],
  { error: `a step is { at: 3s, origin: NAME, action: stop|start } or { at: 3s, dns: ${DNS_MODES.join('|')} } or { at: 3s, dns: { mode: MODE, records: { NAME: [IP] } } }` },
);

const expectSchema = z
  .strictObject({
    errors: range.optional(),
    conn_err: range.optional(),
    status: z.record(z.string().regex(/^(\d{3}|2xx|other)$/, 'a status code, 2xx or other'), range).default({}),
    proxy_status: z.record(z.string(), range).default({}),
    errors_between: z.tuple([duration({ zero: true }), duration({ zero: true })]).optional(),
    chains: z.array(z.string()).default([]),
  })
  .prefault({});

const rootSchema = z.strictObject({
  name: z.string().min(1).optional(),
  description: z.string().default(''),
  origins: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _'), originSchema),
  dns: z.strictObject({ records, ttl: z.int().min(0).default(1), mode: z.enum(DNS_MODES).default('answer') }).optional(),
  gateway: fragment.optional(),
  gateways: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _'), fragment).optional(),
  proxies: z.record(z.string(), proxySchema).default({}),
  load: loadSchema,
  timeline: z.array(stepSchema).default([]),
  expect: expectSchema,
});

type Raw = z.output<typeof rootSchema>;

function resolveScenario(raw: Raw, ctx: Ctx, fallbackName: string, file: string | null): Scenario {
  if ((raw.gateway === undefined) === (raw.gateways === undefined)) {
    fail(ctx, 'give either gateway: (one gatewise config) or gateways: (several, by name)', ['gateway']);
  }
  const gateways: GatewaySpec[] = raw.gateways
    ? Object.entries(raw.gateways).map(([name, f]) => ({ name, path: `gateways.${name}`, fragment: withDefaultName(f, name) }))
    : raw.gateway !== undefined
      ? [{ name: 'gateway', path: 'gateway', fragment: raw.gateway }]
      : [];
  const target = raw.load.target ?? defaultTarget(gateways);
  if (target === null) fail(ctx, 'several gateways: say which one receives the load', ['load', 'target']);
  else if (!gateways.some((g) => g.name === target)) {
    fail(ctx, `no gateway "${target}" (gateways: ${gateways.map((g) => g.name).join(', ')})`, ['load', 'target']);
  }
  if ((raw.load.rate === undefined) === (raw.load.interval === undefined)) {
    fail(ctx, 'give either rate (requests per second) or interval (time between bursts)', ['load']);
  }
  const rate = raw.load.rate ?? (raw.load.burst * 1000) / (raw.load.interval ?? 1000);
  const total = Math.floor((rate * raw.load.duration) / 1000);
  if (raw.load.duration > MAX_LOAD_MS) fail(ctx, `longer than ${MAX_LOAD_MS / 1000}s: a lab run must stay short`, ['load', 'duration']);
  if (total > MAX_REQUESTS) fail(ctx, `${total} requests: at most ${MAX_REQUESTS} per run`, ['load', 'rate']);
  if (total < 1) fail(ctx, 'rate × duration is less than one request', ['load', 'rate']);

  const timeline: TimelineStep[] = raw.timeline.map((s, i) => {
    if (s.at >= raw.load.duration) fail(ctx, `at ${s.at} ms is after the load ends (${raw.load.duration} ms)`, ['timeline', i, 'at']);
    if ('origin' in s) {
      if (!raw.origins[s.origin]) fail(ctx, `no origin "${s.origin}" (origins: ${Object.keys(raw.origins).join(', ')})`, ['timeline', i, 'origin']);
      return { atMs: s.at, kind: 'origin', origin: s.origin, action: s.action };
    }
    if (!raw.dns) fail(ctx, 'a dns step needs a dns: section', ['timeline', i, 'dns']);
    return typeof s.dns === 'string'
      ? { atMs: s.at, kind: 'dns', mode: s.dns, records: null }
      : { atMs: s.at, kind: 'dns', mode: s.dns.mode ?? null, records: s.dns.records ?? null };
  });
  const e = raw.expect;
  return {
    name: raw.name ?? fallbackName,
    description: raw.description.trim().replace(/\s+/g, ' '),
    file,
    origins: Object.entries(raw.origins).map(([name, o]) => ({ name, options: o.options, port: o.port })),
    dns: raw.dns ? { records: raw.dns.records, ttl: raw.dns.ttl, mode: raw.dns.mode } : null,
    gateways,
    proxies: Object.fromEntries(
      Object.entries(raw.proxies).map(([name, p]) => [name, { name, command: p.command, config: p.config ?? null, configName: p.config_name }]),
    ),
    load: {
      target: target ?? '',
      rate,
      burst: raw.load.burst,
      durationMs: raw.load.duration,
      connections: raw.load.connections,
      timeoutMs: raw.load.timeout,
      mix: raw.load.mix.map((m) => ({ method: m.method, path: m.path ?? raw.load.path, bodyBytes: m.body, share: m.share })),
    },
    timeline: timeline.toSorted((a, b) => a.atMs - b.atMs),
    expect: {
      errors: e.errors ?? null,
      connErr: e.conn_err ?? null,
      status: e.status,
      proxyStatus: e.proxy_status,
      errorsBetween: e.errors_between ?? null,
      chains: e.chains,
    },
  };
}

/** Gateways of a chain must differ in Via and Proxy-Status; their key is the natural name. */
function withDefaultName(f: string | Record<string, unknown>, name: string): string | Record<string, unknown> {
  if (typeof f !== 'string') return 'name' in f ? f : { name, ...f };
  return /^name\s*:/m.test(f) ? f : `name: ${name}\n${f}`;
}

/** The one gateway, or the one no other gateway forwards to (the edge of a chain). */
function defaultTarget(gateways: GatewaySpec[]): string | null {
  if (gateways.length === 1) return gateways[0]!.name;
  const text = (g: GatewaySpec) => (typeof g.fragment === 'string' ? g.fragment : JSON.stringify(g.fragment));
  const outer = gateways.filter((g) => !gateways.some((o) => o !== g && text(o).includes(`\${gateway.${g.name}.`)));
  return outer.length === 1 ? outer[0]!.name : null;
}

export type ScenarioSchemaIssue = { path: (string | number)[]; message: string };

export function parseScenarioObject(
  input: unknown,
  fallbackName: string,
  file: string | null,
): { ok: true; scenario: Scenario } | { ok: false; issues: ScenarioSchemaIssue[] } {
  const schema = rootSchema.transform((raw, ctx) => resolveScenario(raw, ctx, fallbackName, file));
  const r = schema.safeParse(input);
  if (r.success) return { ok: true, scenario: r.data };
  return {
    ok: false,
    issues: r.error.issues.map((i) => ({
      path: i.path.filter((p): p is string | number => typeof p !== 'symbol'),
      message: i.code === 'unrecognized_keys' ? `unknown key ${i.keys.map((k) => `"${k}"`).join(', ')}` : i.message,
    })),
  };
}
