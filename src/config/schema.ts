/**
 * The configuration schema: the one place that names every option and its default.
 * YAML keys are snake_case; what leaves this file is camelCase, with every default filled
 * in and every duration in milliseconds. docs/configuration.md is written from this file.
 *
 * Checks that need the file system (error pages, CA files) live in load.ts, which knows
 * where the config file is; everything here is pure.
 */
import { BlockList, isIP } from 'node:net';
import { z } from 'zod';
import { formatDuration, parseDuration, parseSize } from './duration.ts';

export type Limits = { maxResponseHeaderBytes: number; maxRequestBodyBytes: number | null; maxResponseBodyBytes: number | null };
export type Timeouts = { connectMs: number; responseHeaderMs: number; idleMs: number; totalMs: number };

export type Endpoint = {
  /** Normalized origin with an explicit port, e.g. `http://127.0.0.1:3000`. */
  url: string;
  protocol: 'http:' | 'https:';
  /** Without IPv6 brackets, ready for net.connect. */
  host: string;
  port: number;
  weight: number;
  backup: boolean;
};

export type Upstream = {
  name: string;
  endpoints: Endpoint[];
  tls: { verify: boolean; ca: string | null; servername: string | null };
  keepAlive: { idleMs: number; maxConnections: number };
  /** Top-level timeouts with this upstream's overrides applied. */
  timeouts: Timeouts;
  balance: 'round_robin' | 'least_request' | 'ewma';
  /** Ramp-up time of an endpoint that comes back; 0 = off. */
  slowStartMs: number;
  retry: RetryPolicy;
  health: { active: ActiveHealth | null; passive: PassiveHealth | null };
  limits: { maxConcurrent: number | null; queue: number; queueTimeoutMs: number; adaptive: boolean };
  /** Per-endpoint circuit breaker; null = none. */
  breaker: BreakerPolicy | null;
  /** How long a request waits for an endpoint to become available (an origin restarting) before a 503. */
  waitForEndpointMs: number;
  /** Answer 503 with Retry-After instead of proxying, without a restart (reload). */
  maintenance: boolean;
  dns: { minTtlMs: number; maxTtlMs: number; staleMs: number };
};

export type RetryPolicy = {
  /** Total tries, the first included. */
  tries: number;
  /** Limit of one try; null = only the route's timeouts. */
  perTryTimeoutMs: number | null;
  backoff: { baseMs: number; maxMs: number };
  /** Retries at most this share of live requests, plus minPerSecond (a retry budget). */
  budget: { ratio: number; minPerSecond: number };
  /** Request bodies up to this size are buffered so a retry can replay them. */
  bufferBodyBytes: number;
};

export type BreakerPolicy = {
  consecutiveFailures: number;
  /** Share of failures over the window that opens it; 0 = off. */
  failureRatio: number;
  minRequests: number;
  windowMs: number;
  openMs: number;
  halfOpenProbes: number;
};

export type ActiveHealth = {
  type: 'http' | 'tcp';
  path: string;
  intervalMs: number;
  jitter: number;
  timeoutMs: number;
  rise: number;
  fall: number;
  expectStatus: [number, number];
};

export type PassiveHealth = {
  consecutiveFailures: number;
  baseEjectionMs: number;
  maxEjectionMs: number;
  maxEjectedPercent: number;
};

export type Route = {
  name: string;
  /** Lower-cased; exact (`a.example`) or a leading wildcard (`*.example`); null matches any host. */
  host: string | null;
  pathPrefix: string;
  upstream: string;
  stripPrefix: boolean;
  /** Route over upstream over top-level timeouts. */
  timeouts: Timeouts;
  /** Retry a non-idempotent request after it was sent, when the client sent an Idempotency-Key. */
  retryWithIdempotencyKey: boolean;
  maintenance: boolean;
  /** The response cache for this route's GET/HEAD requests; null: not cached. */
  cache: RouteCache | null;
  /** Requests that came in clear are sent to https:// (on this port; null: the default 443); null: served as they are. */
  httpsRedirect: { port: number | null } | null;
};

/**
 * staleIfErrorMs: how long past its freshness a stored response may stand in for a failed
 * origin; maxObjectBytes: the largest body stored.
 */
export type RouteCache = { staleIfErrorMs: number; maxObjectBytes: number };

export type AccessLog = 'stdout' | 'stderr' | 'off' | { file: string };

/** Rotation of a file access log; null sizeBytes = by day only. */
export type LogRotate = { sizeBytes: number | null; daily: boolean; keep: number };

/** The admin listener (metrics, status API, dashboard); listen null = off. */
export type Admin = { listen: { host: string; port: number } | null; token: string | null };

/** A probe through the gateway (path, and Host when url was absolute) and, optionally, straight to the origin. */
export type SyntheticCheck = {
  name: string;
  url: string;
  path: string;
  host: string | null;
  origin: string | null;
  intervalMs: number;
  timeoutMs: number;
};

/** Multi-window burn-rate pairs: fire when both windows burn the error budget faster than burnRate. */
export type BurnWindow = { longMs: number; shortMs: number; burnRate: number };

export type Alerts = {
  webhooks: { url: string; format: 'json' | 'slack' }[];
  slo: { route: string; availability: number | null; latency: { thresholdMs: number; target: number } | null }[];
  windows: BurnWindow[];
  /** Alert when an origin's certificate expires within this many days; 0 = off. */
  certificateDays: number;
  /** An endpoint must stay down this long before its own alert fires (an SLO alert on its pool already names it). */
  endpointDownAfterMs: number;
  /** Alert when a pool masks more than threshold failures within windowMs; null = off. */
  masked: { threshold: number; windowMs: number } | null;
};

/** PEM files of a listener that terminates TLS (absolute paths once loaded); http2: offer h2 by ALPN. */
export type ListenTls = {
  cert: string;
  key: string;
  http2: boolean;
  /** More certificates, chosen by the name the client asks for (SNI); `cert` answers the rest. */
  sni: { cert: string; key: string }[];
};
export type Listen = { host: string; port: number; tls: ListenTls | null };

export type Config = {
  listen: Listen[];
  name: string;
  resolver: { servers: string[]; timeoutMs: number; tries: number } | null;
  timeouts: Timeouts;
  client: {
    headerTimeoutMs: number;
    /** 0 = no limit. */
    requestTimeoutMs: number;
    keepAliveTimeoutMs: number;
    maxHeaderBytes: number;
    maxConnections: number | null;
  };
  limits: Limits;
  forwarded: { xForwarded: boolean; forwarded: boolean; trustedProxies: string[] };
  errorPages: { exposeInternals: boolean; pages: Record<string, string> };
  /** The memory all routes' cached responses may take together. */
  cache: { maxSizeBytes: number };
  upstreams: Record<string, Upstream>;
  routes: Route[];
  log: { access: AccessLog; level: 'debug' | 'info' | 'warn' | 'error'; format: 'auto' | 'json' | 'pretty'; rotate: LogRotate | null };
  shutdown: { graceMs: number };
  admin: Admin;
  synthetic: SyntheticCheck[];
  alerts: Alerts;
};

/** A problem found by the schema, located by its path in the YAML document. */
export type SchemaIssue = {
  path: (string | number)[];
  message: string;
  hint?: string;
  /** `key` when the problem is the key itself (unknown key, bad name), so it is pointed at. */
  at?: 'key' | 'value';
};

type Ctx = z.RefinementCtx;
type Path = (string | number)[];

function reject(ctx: Ctx, message: string, hint?: string, path?: Path, at?: 'key'): never {
  ctx.addIssue({ code: 'custom', message, params: { hint, at }, ...(path ? { path } : {}) });
  return z.NEVER;
}

// ---------------------------------------------------------------- values

/** Zero is meaningful only where it is documented to switch a limit off. */
function duration(opts: { zeroMeansOff?: boolean } = {}) {
  return z.custom<string | number>(() => true).transform((v, ctx) => {
    const r = parseDuration(v);
    if (!r.ok) return reject(ctx, r.message, r.hint);
    if (r.value === 0 && !opts.zeroMeansOff) return reject(ctx, 'must be longer than 0', 'write 5s or 500ms');
    return r.value;
  });
}

function size() {
  return z.custom<string | number>(() => true).transform((v, ctx) => {
    const r = parseSize(v);
    return r.ok ? r.value : reject(ctx, r.message, r.hint);
  });
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function parsePort(text: string): number | null {
  const n = Number(text);
  return /^\d{1,5}$/.test(text) && n <= 65535 ? n : null;
}

/**
 * `host:port`, or `{ address: host:port, tls: { cert, key, http2?, sni? } }` for a listener that
 * terminates TLS. Returns null after reporting, so every entry of a list is checked.
 */
function parseListen(v: unknown, ctx: Ctx, path: Path): Listen | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    const addr = parseAddress(v, ctx, path);
    return addr && { ...addr, tls: null };
  }
  const reject = (message: string, hint: string, at: Path) => {
    ctx.addIssue({ code: 'custom', message, params: { hint }, path: at });
    return null;
  };
  const o = v as Record<string, unknown>;
  const unknown = Object.keys(o).find((k) => k !== 'address' && k !== 'tls');
  if (unknown !== undefined) return reject(`unknown key "${unknown}"`, 'a listener has address and tls', [...path, unknown]);
  if (typeof o.address !== 'string') return reject('a listener needs an address', 'write address: 0.0.0.0:8443', path);
  const addr = parseAddress(o.address, ctx, [...path, 'address']);
  if (addr === null) return null;
  if (o.tls === undefined || o.tls === null) return { ...addr, tls: null };
  const t = o.tls as Record<string, unknown>;
  const hint = 'write tls: { cert: /etc/gatewise/site.crt, key: /etc/gatewise/site.key, http2: true } (PEM files)';
  if (typeof t !== 'object' || Array.isArray(t)) return reject('tls must name a cert and a key file', hint, [...path, 'tls']);
  const extra = Object.keys(t).find((k) => k !== 'cert' && k !== 'key' && k !== 'http2' && k !== 'sni');
  if (extra !== undefined) return reject(`unknown key "${extra}"`, hint, [...path, 'tls', extra]);
  for (const k of ['cert', 'key'] as const) {
    if (typeof t[k] !== 'string' || t[k] === '') return reject(`tls.${k} must be a file path`, hint, [...path, 'tls', k]);
  }
  if (t.http2 !== undefined && typeof t.http2 !== 'boolean') return reject('tls.http2 must be true or false', hint, [...path, 'tls', 'http2']);
  const sni: { cert: string; key: string }[] = [];
  const sniHint = 'write sni: [{ cert: a.example.crt, key: a.example.key }, …]: each certificate answers the names it carries';
  if (t.sni !== undefined && !Array.isArray(t.sni)) return reject('tls.sni must be a list of { cert, key }', sniHint, [...path, 'tls', 'sni']);
  for (const [i, pair] of ((t.sni as unknown[] | undefined) ?? []).entries()) {
    const p = pair as Record<string, unknown> | null;
    if (typeof p !== 'object' || p === null || typeof p.cert !== 'string' || typeof p.key !== 'string' || Object.keys(p).length !== 2) {
      return reject('each sni entry is { cert, key }', sniHint, [...path, 'tls', 'sni', i]);
    }
    sni.push({ cert: p.cert, key: p.key });
  }
  return { ...addr, tls: { cert: t.cert as string, key: t.key as string, http2: t.http2 === true, sni } };
}

/** `host:port`; null after reporting. */
function parseAddress(v: unknown, ctx: Ctx, path: Path): { host: string; port: number } | null {
  const reject = (message: string, hint: string) => {
    ctx.addIssue({ code: 'custom', message, params: { hint }, path });
    return null;
  };
  const bare = typeof v === 'number' || (typeof v === 'string' && /^\d+$/.test(v));
  if (bare) {
    return reject(`"${v}" has no host`, `write 127.0.0.1:${v} (this machine only) or 0.0.0.0:${v} (all interfaces)`);
  }
  if (typeof v !== 'string') return reject('expected "host:port"', 'write 127.0.0.1:8080, or { address: 0.0.0.0:8443, tls: { cert: …, key: … } }');
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(v) ?? /^([^:[\]\s]+):(\d+)$/.exec(v);
  if (!m) {
    const v6 = /^(.*):(\d+)$/.exec(v);
    const hint = v6 && isIP(v6[1]!) === 6 ? `bracket IPv6 addresses: [${v6[1]}]:${v6[2]}` : 'write 127.0.0.1:8080 or [::1]:8080';
    return reject(`"${v}" is not host:port`, hint);
  }
  const host = m[1]!;
  const port = parsePort(m[2]!);
  if (port === null) return reject(`port ${m[2]} is out of range`, 'ports go from 0 to 65535 (0 picks a free one)');
  if (v.startsWith('[') ? isIP(host) !== 6 : isIP(host) !== 4 && !HOSTNAME.test(host.toLowerCase())) {
    return reject(`"${host}" is not an IP address or host name`, 'write 127.0.0.1:8080 or [::1]:8080');
  }
  return { host, port };
}

type ListenInput = string | { address: string; tls?: { cert: string; key: string; http2?: boolean } | null };

/** One address or a list of them. */
const listenSchema = z.custom<ListenInput | ListenInput[]>(() => true).transform((v, ctx) => {
  const parsed = Array.isArray(v) ? v.map((item, i) => parseListen(item, ctx, [i])) : [parseListen(v, ctx, [])];
  if (parsed.length === 0) return reject(ctx, 'no address to listen on', 'write listen: 127.0.0.1:8080');
  const list = parsed.filter((a) => a !== null);
  if (list.length < parsed.length) return z.NEVER;
  const seen = new Map<string, number>();
  list.forEach((a, i) => {
    const key = `${a.host}:${a.port}`;
    const first = seen.get(key);
    if (a.port !== 0 && first !== undefined) reject(ctx, `${key} is already listed as listen[${first}]`, 'remove one of them', [i]);
    seen.set(key, i);
  });
  return list;
});

const dnsServer = z.string().transform((v, ctx) => {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(v) ?? /^([\d.]+):(\d+)$/.exec(v);
  const ip = m ? m[1]! : v;
  if (!isIP(ip) || (m && parsePort(m[2]!) === null)) {
    return reject(ctx, `"${v}" is not a DNS server address`, 'write an IP address with an optional port: 127.0.0.1:53 or [::1]:53');
  }
  return v;
});

const ipOrCidr = z.string().transform((v, ctx) => {
  const [ip = '', prefix, extra] = v.split('/');
  const family = isIP(ip);
  const bits = prefix === undefined ? null : Number(prefix);
  const max = family === 6 ? 128 : 32;
  const ok = family !== 0 && extra === undefined && (bits === null || (/^\d+$/.test(prefix!) && bits <= max));
  if (ok && bits !== null) {
    try {
      new BlockList().addSubnet(ip, bits, family === 6 ? 'ipv6' : 'ipv4');
    } catch {
      return reject(ctx, `"${v}" is not an IP address or CIDR range`, 'write 10.0.0.0/8, 192.168.1.10 or fd00::/8');
    }
  }
  if (!ok) return reject(ctx, `"${v}" is not an IP address or CIDR range`, 'write 10.0.0.0/8, 192.168.1.10 or fd00::/8');
  return v;
});

const routeHost = z.string().transform((raw, ctx) => {
  const v = raw.trim().toLowerCase().replace(/\.$/, '');
  if (/:\d+$/.test(v) && !v.startsWith('[')) {
    return reject(ctx, `"${raw}" has a port`, `routes match the host name only: write ${v.replace(/:\d+$/, '')}`);
  }
  if (/^\[[0-9a-f:.]+\]$/.test(v) && isIP(v.slice(1, -1)) === 6) return v;
  const name = v.startsWith('*.') ? v.slice(2) : v;
  if (name.includes('*')) {
    return reject(ctx, `"${raw}" has a wildcard in the wrong place`, 'only a leading wildcard is supported: *.example.com');
  }
  if (!HOSTNAME.test(name)) return reject(ctx, `"${raw}" is not a host name`, 'write api.example.com or *.example.com');
  return v;
});

const pathPrefix = z.string().transform((v, ctx) => {
  if (!v.startsWith('/')) return reject(ctx, `"${v}" does not start with /`, `write /${v}`);
  if (v.includes('*')) {
    return reject(ctx, `"${v}" contains *`, `paths are prefixes: ${v.replace(/\/?\*.*$/, '') || '/'} already matches everything below it`);
  }
  if (/[?#\s]/.test(v)) return reject(ctx, `"${v}" is not a plain path`, 'a route path has no query, fragment or spaces');
  return v;
});

// ---------------------------------------------------------------- sections

const timeoutKeys = {
  connect: 'connectMs',
  response_header: 'responseHeaderMs',
  idle: 'idleMs',
  total: 'totalMs',
} as const satisfies Record<string, keyof Timeouts>;

function timeoutsFrom(t: Partial<Record<keyof typeof timeoutKeys, number>>): Partial<Timeouts> {
  const out: Partial<Timeouts> = {};
  for (const [yamlKey, key] of Object.entries(timeoutKeys)) {
    const v = t[yamlKey as keyof typeof timeoutKeys];
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/**
 * Upstream-side defaults, applied under the top-level `timeouts` section. They are kept
 * apart from the schema (unlike every other default) so the consistency check can tell a
 * value the operator wrote from one they inherited: `total: 2s` alone must not be an error
 * just because the default response_header wait is longer.
 *
 * nginx waits 60 s for a connect; we give up after 5 s because a healthy origin connects in
 * milliseconds and a retry on another endpoint is worth more than a minute of waiting.
 * Header and idle waits match nginx's proxy_read_timeout.
 */
export const DEFAULT_TIMEOUTS: Readonly<Timeouts> = {
  connectMs: 5_000,
  responseHeaderMs: 60_000,
  idleMs: 60_000,
  totalMs: 300_000,
};

/** Overrides carry no defaults of their own: whatever is unset is inherited. */
const timeoutOverrides = z
  .strictObject({
    connect: duration().optional(),
    response_header: duration().optional(),
    idle: duration().optional(),
    total: duration().optional(),
  })
  .transform(timeoutsFrom);

type EndpointInput = string | { url: string; weight?: number; backup?: boolean };

const endpointSchema = z
  .custom<EndpointInput>(() => true)
  .transform((v) => (typeof v === 'string' ? { url: v } : v))
  .pipe(
    z.strictObject({
      url: z.string(),
      weight: z.int().min(1).max(10_000).default(1),
      backup: z.boolean().default(false),
    }),
  )
  .transform((e, ctx): Endpoint => {
    const origin = parseEndpointUrl(e.url, ctx);
    return { ...origin, weight: e.weight, backup: e.backup };
  });

function parseEndpointUrl(text: string, ctx: Ctx): Omit<Endpoint, 'weight' | 'backup'> {
  const at: Path = ['url'];
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return reject(ctx, `"${text}" is not a URL`, `write http://${text.replace(/^\/+/, '')}`, at);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    const hint = text.includes('://') ? 'use http:// or https://' : `add the scheme: http://${text}`;
    return reject(ctx, `"${text}" is not an http or https URL`, hint, at);
  }
  const port = u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : Number(u.port);
  const url = `${u.protocol}//${u.hostname}:${port}`;
  if (u.username || u.password) {
    return reject(ctx, `"${text}" contains credentials`, `remove the user:password@ part: write ${url}`, at);
  }
  if (u.pathname !== '/' || u.search || u.hash) {
    return reject(
      ctx,
      `"${text}" has a path, query or fragment`,
      `an endpoint is an origin only: write ${url} and map paths with the route's path and strip_prefix`,
      at,
    );
  }
  return { url, protocol: u.protocol, host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}

const upstreamSchema = z
  .strictObject({
    endpoints: z.array(endpointSchema),
    tls: z
      .strictObject({
        verify: z.boolean().default(true),
        ca: z.string().min(1).nullable().default(null),
        servername: z.string().min(1).nullable().default(null),
      })
      .prefault({}),
    keep_alive: z
      .strictObject({
        // Origins commonly close idle connections after 5 s (Node's default keepAliveTimeout,
        // nginx's 75 s is the exception). Giving up on ours first means we never reuse a
        // socket at the instant the origin closes it, the race that turns into a reset.
        idle: duration().prefault('4s'),
        max_connections: z.int().min(1).default(256),
      })
      .prefault({}),
    timeouts: timeoutOverrides.prefault({}),
    balance: z.enum(['round_robin', 'least_request', 'ewma']).default('round_robin'),
    slow_start: duration({ zeroMeansOff: true }).prefault('0s'),
    retry: z
      .strictObject({
        tries: z.int().min(1).max(10).default(3),
        per_try_timeout: duration().nullable().default(null),
        backoff: z
          .strictObject({ base: duration().prefault('25ms'), max: duration().prefault('250ms') })
          .prefault({}),
        budget: z
          .strictObject({ ratio: z.number().min(0).max(1).default(0.2), min_per_second: z.int().min(0).default(5) })
          .prefault({}),
        buffer_body: size().prefault('64kb'),
      })
      .prefault({}),
    health: z
      .strictObject({
        active: z
          .strictObject({
            type: z.enum(['http', 'tcp']).default('http'),
            path: z.string().startsWith('/').default('/'),
            interval: duration().prefault('5s'),
            jitter: z.number().min(0).max(1).default(0.1),
            timeout: duration().prefault('1s'),
            rise: z.int().min(1).default(2),
            fall: z.int().min(1).default(3),
            expect_status: z.tuple([z.int().min(100).max(599), z.int().min(100).max(599)]).default([200, 399]),
          })
          .nullable()
          .default(null),
        passive: z
          .strictObject({
            consecutive_failures: z.int().min(1).default(5),
            base_ejection: duration().prefault('10s'),
            max_ejection: duration().prefault('300s'),
            max_ejected_percent: z.int().min(0).max(100).default(50),
          })
          .nullable()
          .prefault({}),
      })
      .prefault({}),
    limits: z
      .strictObject({
        max_concurrent: z.int().min(1).nullable().default(null),
        queue: z.int().min(0).default(0),
        queue_timeout: duration().prefault('1s'),
        adaptive: z.boolean().default(false),
      })
      .prefault({}),
    breaker: z
      .strictObject({
        consecutive_failures: z.int().min(1).default(5),
        failure_ratio: z.number().min(0).max(1).default(0.5),
        min_requests: z.int().min(1).default(20),
        window: duration().prefault('10s'),
        open: duration().prefault('5s'),
        half_open_probes: z.int().min(1).default(1),
      })
      .nullable()
      .default(null),
    wait_for_endpoint: duration({ zeroMeansOff: true }).prefault('0s'),
    maintenance: z.boolean().default(false),
    dns: z
      .strictObject({ min_ttl: duration().prefault('1s'), max_ttl: duration().prefault('300s'), stale: duration().prefault('300s') })
      .prefault({}),
  })
  .transform((u, ctx) => {
    if (u.endpoints.length === 0) {
      reject(ctx, 'no endpoints', 'list at least one, e.g. endpoints: [http://127.0.0.1:3000]', ['endpoints']);
    } else if (u.endpoints.every((e) => e.backup)) {
      reject(ctx, 'every endpoint is a backup', 'backups take traffic only when a primary fails: make one endpoint primary', ['endpoints']);
    }
    const first = new Map<string, number>();
    u.endpoints.forEach((e, i) => {
      const j = first.get(e.url);
      if (j !== undefined) {
        reject(ctx, `${e.url} is listed twice (also endpoints[${j}])`, 'remove it, or raise the weight of the first one', ['endpoints', i]);
      }
      first.set(e.url, i);
    });
    return u;
  });

const routeSchema = z.strictObject({
  name: z.string().min(1).optional(),
  host: routeHost.nullable().default(null),
  path: pathPrefix.default('/'),
  upstream: z.string().min(1),
  strip_prefix: z.boolean().default(false),
  timeouts: timeoutOverrides.prefault({}),
  retry_with_idempotency_key: z.boolean().default(false),
  maintenance: z.boolean().default(false),
  https_redirect: z.union([z.boolean(), z.int().min(1).max(65535)]).default(false),
  cache: z
    .strictObject({
      stale_if_error: duration().prefault('10m'),
      max_object: size().prefault('1mb'),
    })
    .nullable()
    .default(null),
});

const accessLog = z
  .custom<string>(() => true)
  .default('stdout')
  .transform((v, ctx): AccessLog => {
    if (typeof v !== 'string' || v === '') {
      // `access: false` is the natural thing to write, and YAML reads `off` as a string.
      return reject(ctx, 'expected stdout, stderr, off or a file path', 'write access: off to turn the access log off');
    }
    return v === 'stdout' || v === 'stderr' || v === 'off' ? v : { file: v };
  });

function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(h);
}

const httpUrl = z.string().transform((v, ctx) => {
  const u = URL.canParse(v) ? new URL(v) : null;
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) return reject(ctx, `"${v}" is not an http or https URL`, 'write http://host:port/path');
  return u.href;
});

const adminSchema = z
  .strictObject({
    listen: z
      .custom<string | null>(() => true)
      .default(null)
      .transform((v, ctx) => (v === null ? null : (parseAddress(v, ctx, []) ?? z.NEVER))),
    token: z.string().min(16).nullable().default(null),
  })
  .transform((a, ctx) => {
    // Metrics and status name every endpoint and failure: beyond loopback they need a lock.
    if (a.listen && a.token === null && !isLoopback(a.listen.host)) {
      reject(ctx, `admin listens on ${a.listen.host}, beyond loopback, without a token`, 'set admin.token (16 characters or more), or listen on 127.0.0.1', ['listen']);
    }
    return a;
  });

const syntheticSchema = z
  .strictObject({
    name: z.string().regex(NAME, { error: 'use letters, digits, - _ and . (it appears in metrics)' }),
    url: z.string().transform((v, ctx) => {
      if (v.startsWith('/')) return { url: v, path: v, host: null };
      const u = URL.canParse(v) ? new URL(v) : null;
      if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) {
        return reject(ctx, `"${v}" is neither a path nor an http URL`, 'write a path on a route (/health), or http://host/path to probe with that Host');
      }
      return { url: v, path: `${u.pathname}${u.search}`, host: u.host };
    }),
    origin: httpUrl.nullable().default(null),
    interval: duration().prefault('10s'),
    timeout: duration().prefault('2s'),
  })
  .transform((c, ctx): SyntheticCheck => {
    if (c.timeout > c.interval) reject(ctx, `timeout ${formatDuration(c.timeout)} is longer than interval ${formatDuration(c.interval)}`, 'probes would overlap: lower timeout', ['timeout']);
    return { name: c.name, ...c.url, origin: c.origin, intervalMs: c.interval, timeoutMs: c.timeout };
  });

/** An SLO target: 0.999, not 99.9. */
const fraction = z.number().refine((v) => v > 0 && v < 1, {
  error: (iss) => `${iss.input} is not a fraction between 0 and 1`,
  params: { hint: 'write 0.999 for 99.9%' },
});

/** 3 days is the SRE workbook's longest (ticket) window; longer would only cost memory (1-second buckets). */
const MAX_BURN_WINDOW_MS = 3 * 86_400_000;

const alertsSchema = z.strictObject({
  webhooks: z.array(z.strictObject({ url: httpUrl, format: z.enum(['json', 'slack']).default('json') })).default([]),
  slo: z
    .array(
      z
        .strictObject({
          route: z.string().min(1),
          availability: fraction.nullable().default(null),
          latency: z.strictObject({ threshold: duration(), target: fraction }).nullable().default(null),
        })
        .refine((s) => s.availability !== null || s.latency !== null, {
          error: 'an SLO needs availability, latency or both',
          params: { hint: 'write availability: 0.999 or latency: { threshold: 500ms, target: 0.99 }' },
        }),
    )
    .default([]),
  // The Google SRE workbook's paging pairs (chapter "Alerting on SLOs", table 5-8).
  windows: z
    .array(
      z
        .strictObject({ long: duration(), short: duration(), burn_rate: z.number().positive() })
        .transform((w, ctx): BurnWindow => {
          if (w.short >= w.long) reject(ctx, 'short must be shorter than long', 'the workbook uses short = long / 12', ['short']);
          if (w.long > MAX_BURN_WINDOW_MS) reject(ctx, `long ${formatDuration(w.long)} is over 3 days`, 'write 72h or less', ['long']);
          return { longMs: w.long, shortMs: w.short, burnRate: w.burn_rate };
        }),
    )
    .min(1)
    .prefault([
      { long: '1h', short: '5m', burn_rate: 14.4 },
      { long: '6h', short: '30m', burn_rate: 6 },
    ]),
  certificate_days: z.int().min(0).default(14),
  endpoint_down_after: duration({ zeroMeansOff: true }).prefault('30s'),
  masked: z.strictObject({ threshold: z.int().min(1), window: duration().prefault('5m') }).nullable().default(null),
});

const rootSchema = z.strictObject({
  listen: listenSchema.prefault('127.0.0.1:8080'),
  /** The pseudonym in Via and Proxy-Status (RFC 9110 §7.6.3, RFC 9209 §2). */
  name: z
    .string()
    .default('gatewise')
    .refine((v) => TOKEN.test(v), {
      error: (iss) => `"${iss.input}" is not a valid proxy name`,
      params: { hint: 'it appears in Via and Proxy-Status: use letters, digits and !#$%&\'*+-.^_`|~ only' },
    }),
  resolver: z
    .strictObject({
      servers: z.array(dnsServer).min(1),
      timeout: duration().prefault('2s'),
      tries: z.int().min(1).max(10).default(2),
    })
    .nullable()
    .default(null),
  timeouts: timeoutOverrides.prefault({}),
  client: z
    .strictObject({
      // Short, because a client that has not sent its headers in 10 s is a slowloris, not a
      // slow network; Node's own 60 s default leaves room for thousands of them.
      header_timeout: duration().prefault('10s'),
      request_timeout: duration({ zeroMeansOff: true }).prefault('60s'),
      keep_alive_timeout: duration().prefault('5s'),
      max_header_bytes: size().prefault('16kb'),
      max_connections: z.int().min(1).nullable().default(null),
    })
    .prefault({})
    .check((ctx) => {
      const c = ctx.value;
      if (c.request_timeout > 0 && c.header_timeout > c.request_timeout) {
        ctx.issues.push({
          code: 'custom',
          input: c,
          path: ['header_timeout'],
          message: `header_timeout ${formatDuration(c.header_timeout)} is longer than request_timeout ${formatDuration(c.request_timeout)}`,
          params: { hint: 'the headers are part of the request: lower header_timeout or raise request_timeout' },
        });
      }
    }),
  limits: z
    .strictObject({
      max_response_header_bytes: size().prefault('16kb'),
      max_request_body_bytes: size().nullable().default(null),
      max_response_body_bytes: size().nullable().default(null),
    })
    .prefault({}),
  cache: z.strictObject({ max_size: size().prefault('64mb') }).prefault({}),
  forwarded: z
    .strictObject({
      x_forwarded: z.boolean().default(true),
      forwarded: z.boolean().default(true),
      trusted_proxies: z.array(ipOrCidr).default([]),
    })
    .prefault({}),
  error_pages: z
    .strictObject({
      // Off by default: endpoint addresses and error details help an attacker map the network.
      expose_internals: z.boolean().default(false),
      pages: z
        .record(z.string(), z.string().min(1))
        .default({})
        .transform((pages, ctx) => {
          for (const code of Object.keys(pages)) {
            const n = Number(code);
            if (code !== 'default' && !(/^\d{3}$/.test(code) && n >= 400 && n <= 599)) {
              reject(ctx, `"${code}" is not a status code`, 'use a status from 400 to 599, or default', [code], 'key');
            }
          }
          return pages;
        }),
    })
    .prefault({}),
  upstreams: z
    .record(z.string(), upstreamSchema)
    .default({})
    .transform((ups, ctx) => {
      for (const name of Object.keys(ups)) {
        if (!NAME.test(name)) {
          reject(ctx, `"${name}" is not a valid upstream name`, 'it appears in logs and metrics: use letters, digits, - _ and .', [name], 'key');
        }
      }
      return ups;
    }),
  routes: z.array(routeSchema).default([]),
  log: z
    .strictObject({
      access: accessLog,
      level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
      format: z.enum(['auto', 'json', 'pretty']).default('auto'),
      rotate: z
        .strictObject({ size: size().nullable().prefault('100mb'), daily: z.boolean().default(false), keep: z.int().min(1).max(1000).default(7) })
        .nullable()
        .default(null),
    })
    .prefault({}),
  shutdown: z.strictObject({ grace: duration().prefault('10s') }).prefault({}),
  admin: adminSchema.prefault({}),
  synthetic: z.array(syntheticSchema).default([]),
  alerts: alertsSchema.prefault({}),
});

type Raw = z.output<typeof rootSchema>;

/** Checks across sections, then the camelCase shape the rest of gatewise reads. */
function resolve(raw: Raw, ctx: Ctx): Config {
  const c = raw.client;
  const defaults: TimeoutLevel = { path: [], set: DEFAULT_TIMEOUTS };
  const top: Timeouts = { ...DEFAULT_TIMEOUTS, ...raw.timeouts };
  checkTimeouts(ctx, [defaults, { path: ['timeouts'], set: raw.timeouts }]);

  const upstreams: Record<string, Upstream> = {};
  for (const [name, u] of Object.entries(raw.upstreams)) {
    checkTimeouts(ctx, [
      defaults,
      { path: ['timeouts'], set: raw.timeouts },
      { path: ['upstreams', name, 'timeouts'], set: u.timeouts },
    ]);
    upstreams[name] = {
      name,
      endpoints: u.endpoints,
      tls: u.tls,
      keepAlive: { idleMs: u.keep_alive.idle, maxConnections: u.keep_alive.max_connections },
      timeouts: { ...top, ...u.timeouts },
      balance: u.balance,
      slowStartMs: u.slow_start,
      retry: {
        tries: u.retry.tries,
        perTryTimeoutMs: u.retry.per_try_timeout,
        backoff: { baseMs: u.retry.backoff.base, maxMs: u.retry.backoff.max },
        budget: { ratio: u.retry.budget.ratio, minPerSecond: u.retry.budget.min_per_second },
        bufferBodyBytes: u.retry.buffer_body,
      },
      health: {
        active: u.health.active && {
          type: u.health.active.type,
          path: u.health.active.path,
          intervalMs: u.health.active.interval,
          jitter: u.health.active.jitter,
          timeoutMs: u.health.active.timeout,
          rise: u.health.active.rise,
          fall: u.health.active.fall,
          expectStatus: u.health.active.expect_status,
        },
        passive: u.health.passive && {
          consecutiveFailures: u.health.passive.consecutive_failures,
          baseEjectionMs: u.health.passive.base_ejection,
          maxEjectionMs: u.health.passive.max_ejection,
          maxEjectedPercent: u.health.passive.max_ejected_percent,
        },
      },
      limits: {
        maxConcurrent: u.limits.max_concurrent,
        queue: u.limits.queue,
        queueTimeoutMs: u.limits.queue_timeout,
        adaptive: u.limits.adaptive,
      },
      breaker: u.breaker && {
        consecutiveFailures: u.breaker.consecutive_failures,
        failureRatio: u.breaker.failure_ratio,
        minRequests: u.breaker.min_requests,
        windowMs: u.breaker.window,
        openMs: u.breaker.open,
        halfOpenProbes: u.breaker.half_open_probes,
      },
      waitForEndpointMs: u.wait_for_endpoint,
      maintenance: u.maintenance,
      dns: { minTtlMs: u.dns.min_ttl, maxTtlMs: u.dns.max_ttl, staleMs: u.dns.stale },
    };
  }

  const known = Object.keys(upstreams);
  if (raw.routes.length === 0) {
    const example = known[0] ?? 'app';
    reject(ctx, 'no routes: nothing would be proxied', `add a route, e.g. routes: [{ path: /, upstream: ${example} }]`, ['routes']);
  }
  const routes: Route[] = [];
  const byHostPath = new Map<string, number>();
  const byName = new Map<string, number>();
  raw.routes.forEach((r, i) => {
    const name = r.name ?? `${r.host ?? ''}${r.path}`;
    const up = upstreams[r.upstream];
    if (!up) {
      const near = nearest(r.upstream, known);
      const message =
        known.length === 0
          ? `unknown upstream "${r.upstream}" — no upstreams are defined`
          : `unknown upstream "${r.upstream}" — known upstreams: ${known.join(', ')}`;
      const hint = near ? `did you mean "${near}"?` : known.length === 0 ? 'define it under upstreams:' : undefined;
      reject(ctx, message, hint, ['routes', i, 'upstream']);
    } else {
      checkTimeouts(ctx, [
        defaults,
        { path: ['timeouts'], set: raw.timeouts },
        { path: ['upstreams', r.upstream, 'timeouts'], set: raw.upstreams[r.upstream]!.timeouts },
        { path: ['routes', i, 'timeouts'], set: r.timeouts },
      ]);
    }
    const where = r.host === null ? `${r.path} on any host` : `${r.host}${r.path}`;
    const dup = byHostPath.get(`${r.host} ${r.path}`);
    if (dup !== undefined) {
      reject(
        ctx,
        `same host and path as routes[${dup}] (${where}): this route can never match`,
        'change its host or path, or remove it',
        ['routes', i, 'path'],
      );
    } else if (byName.has(name)) {
      reject(ctx, `route name "${name}" is already used by routes[${byName.get(name)}]`, 'names appear in logs and metrics: make them unique', ['routes', i, 'name']);
    }
    byHostPath.set(`${r.host} ${r.path}`, i);
    byName.set(name, i);
    routes.push({
      name,
      host: r.host,
      pathPrefix: r.path,
      upstream: r.upstream,
      stripPrefix: r.strip_prefix,
      timeouts: { ...top, ...(up ? raw.upstreams[r.upstream]!.timeouts : {}), ...r.timeouts },
      retryWithIdempotencyKey: r.retry_with_idempotency_key,
      maintenance: r.maintenance,
      cache: r.cache && { staleIfErrorMs: r.cache.stale_if_error, maxObjectBytes: r.cache.max_object },
      httpsRedirect: r.https_redirect === false ? null : { port: r.https_redirect === true || r.https_redirect === 443 ? null : r.https_redirect },
    });
  });

  return {
    listen: raw.listen,
    name: raw.name,
    resolver: raw.resolver && { servers: raw.resolver.servers, timeoutMs: raw.resolver.timeout, tries: raw.resolver.tries },
    timeouts: top,
    client: {
      headerTimeoutMs: c.header_timeout,
      requestTimeoutMs: c.request_timeout,
      keepAliveTimeoutMs: c.keep_alive_timeout,
      maxHeaderBytes: c.max_header_bytes,
      maxConnections: c.max_connections,
    },
    limits: {
      maxResponseHeaderBytes: raw.limits.max_response_header_bytes,
      maxRequestBodyBytes: raw.limits.max_request_body_bytes,
      maxResponseBodyBytes: raw.limits.max_response_body_bytes,
    },
    forwarded: {
      xForwarded: raw.forwarded.x_forwarded,
      forwarded: raw.forwarded.forwarded,
      trustedProxies: raw.forwarded.trusted_proxies,
    },
    errorPages: { exposeInternals: raw.error_pages.expose_internals, pages: raw.error_pages.pages },
    cache: { maxSizeBytes: raw.cache.max_size },
    upstreams,
    routes,
    log: resolveLog(raw.log, ctx),
    shutdown: { graceMs: raw.shutdown.grace },
    admin: raw.admin,
    synthetic: resolveSynthetic(raw.synthetic, ctx),
    alerts: resolveAlerts(raw.alerts, new Set(routes.map((r) => r.name)), ctx),
  };
}

function resolveLog(log: Raw['log'], ctx: Ctx): Config['log'] {
  const r = log.rotate;
  if (r && typeof log.access !== 'object') reject(ctx, `rotate needs a file access log, not ${log.access}`, 'write access: /var/log/gatewise/access.log, or remove rotate', ['log', 'rotate']);
  if (r && r.size === null && !r.daily) reject(ctx, 'rotate with size: null and daily: false never rotates', 'set a size (100mb) or daily: true', ['log', 'rotate']);
  return { access: log.access, level: log.level, format: log.format, rotate: r && { sizeBytes: r.size, daily: r.daily, keep: r.keep } };
}

function resolveSynthetic(checks: SyntheticCheck[], ctx: Ctx): SyntheticCheck[] {
  const seen = new Set<string>();
  checks.forEach((c, i) => {
    if (seen.has(c.name)) reject(ctx, `synthetic check name "${c.name}" is used twice`, 'names appear in metrics: make them unique', ['synthetic', i, 'name']);
    seen.add(c.name);
  });
  return checks;
}

function resolveAlerts(a: Raw['alerts'], routeNames: Set<string>, ctx: Ctx): Alerts {
  a.slo.forEach((s, i) => {
    if (routeNames.has(s.route)) return;
    const near = nearest(s.route, [...routeNames]);
    reject(ctx, `unknown route "${s.route}" — known routes: ${[...routeNames].join(', ')}`, near ? `did you mean "${near}"?` : 'use a route\'s name (or host+path when it has none)', ['alerts', 'slo', i, 'route']);
  });
  return {
    webhooks: a.webhooks,
    slo: a.slo.map((s) => ({
      route: s.route,
      availability: s.availability,
      latency: s.latency && { thresholdMs: s.latency.threshold, target: s.latency.target },
    })),
    windows: a.windows,
    certificateDays: a.certificate_days,
    endpointDownAfterMs: a.endpoint_down_after,
    masked: a.masked && { threshold: a.masked.threshold, windowMs: a.masked.window },
  };
}

/** The first level is always the defaults, which an operator did not write. */
type TimeoutLevel = { path: Path; set: Partial<Timeouts> };
const yamlTimeoutKey = Object.fromEntries(Object.entries(timeoutKeys).map(([y, k]) => [k, y])) as Record<keyof Timeouts, string>;

/**
 * A wait the operator set longer than a total deadline they also set can never fire.
 * Reported only at the level that wrote one of the two values, so a bad top-level value is
 * reported once, not once per route.
 */
function checkTimeouts(ctx: Ctx, levels: TimeoutLevel[]): void {
  const own = levels.at(-1)!;
  const effective = Object.assign({}, ...levels.map((l) => l.set)) as Timeouts;
  const source = (key: keyof Timeouts) => levels.findLast((l) => l.set[key] !== undefined)!;
  const from = (key: keyof Timeouts): string => {
    const level = source(key);
    return level === own ? '' : ` (inherited from ${displayPath(level.path)})`;
  };
  for (const wait of ['connectMs', 'responseHeaderMs'] as const) {
    if (effective[wait] <= effective.totalMs) continue;
    if (source(wait) === levels[0] || source('totalMs') === levels[0]) continue;
    if (own.set[wait] === undefined && own.set.totalMs === undefined) continue;
    const at = own.set.totalMs !== undefined ? 'totalMs' : wait;
    reject(
      ctx,
      `${yamlTimeoutKey[wait]} ${formatDuration(effective[wait])}${from(wait)} is longer than total ${formatDuration(effective.totalMs)}${from('totalMs')}`,
      `the total deadline would always fire first: raise total or lower ${yamlTimeoutKey[wait]}`,
      [...own.path, yamlTimeoutKey[at]],
    );
  }
}

// ---------------------------------------------------------------- public

export const configSchema = rootSchema.transform(resolve);

/** What a YAML document (or quickConfig) hands to the schema, before defaults. */
export type ConfigInput = z.input<typeof rootSchema>;

/** Runs the schema; issues come back with YAML-shaped paths and operator-facing words. */
export function parseConfigObject(input: unknown): { ok: true; config: Config } | { ok: false; issues: SchemaIssue[] } {
  const r = configSchema.safeParse(input, { reportInput: true });
  if (r.success) return { ok: true, config: r.data };
  return { ok: false, issues: r.error.issues.flatMap(toSchemaIssues) };
}

/** Findings that do not stop the gateway but probably are not what the operator meant. */
export function configWarnings(config: Config): SchemaIssue[] {
  const used = new Set(config.routes.map((r) => r.upstream));
  const out: SchemaIssue[] = [];
  for (const u of Object.values(config.upstreams)) {
    if (!used.has(u.name)) {
      out.push({ path: ['upstreams', u.name], message: `upstream "${u.name}" is not used by any route`, hint: 'route to it or remove it', at: 'key' });
    }
    const tlsSet = u.tls.ca !== null || u.tls.servername !== null || !u.tls.verify;
    if (tlsSet && !u.endpoints.some((e) => e.protocol === 'https:')) {
      out.push({ path: ['upstreams', u.name, 'tls'], message: 'tls settings have no effect: no endpoint uses https://', at: 'key' });
    }
  }
  return out;
}

/** `routes[1].upstream`, `upstreams.app.endpoints[0]`, `error_pages.pages["502"]`. */
export function displayPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** The candidate closest to `word` by edit distance, if it is close enough to be a typo. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = norm(c) === norm(word) ? 0 : editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

// ---------------------------------------------------------------- zod issues → words

type ZodIssue = z.core.$ZodIssue;

function toSchemaIssues(issue: ZodIssue): SchemaIssue[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(path);
      return issue.keys.map((key) => {
        const near = nearest(key, known);
        return {
          path: [...path, key],
          message: `unknown key "${key}"`,
          hint: near ? `did you mean "${near}"?` : `known keys here: ${known.join(', ')}`,
          at: 'key' as const,
        };
      });
    }
    case 'invalid_type': {
      if (input === undefined) {
        if (path.length === 0) return [{ path, message: 'the configuration is empty', hint: 'see gatewise.example.yaml' }];
        return [{ path, message: `missing required key "${path.at(-1)}"` }];
      }
      if (path.length === 0) return [{ path, message: `expected a map of options, got ${describe(input)}` }];
      const expected = issue.expected === 'object' || issue.expected === 'record' ? 'a map' : issue.expected === 'array' ? 'a list' : issue.expected;
      const hint =
        issue.expected === 'boolean'
          ? 'write true or false'
          : issue.expected === 'array'
            ? 'write a list: [a, b] or one "- item" per line'
            : input === null
              ? 'an empty key means null here: give it a value or remove it'
              : undefined;
      return [{ path, message: `expected ${expected}, got ${describe(input)}`, ...(hint ? { hint } : {}) }];
    }
    case 'invalid_value': {
      const values = issue.values.map(String);
      const near = typeof input === 'string' ? nearest(input, values) : undefined;
      return [
        {
          path,
          message: `${JSON.stringify(input)} is not one of: ${values.join(', ')}`,
          ...(near ? { hint: `did you mean "${near}"?` } : {}),
        },
      ];
    }
    case 'too_small':
    case 'too_big': {
      const bound = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
      const word = issue.code === 'too_small' ? 'at least' : 'at most';
      const message =
        issue.origin === 'array'
          ? `needs ${word} ${bound} item${bound === 1 ? '' : 's'}`
          : issue.origin === 'string'
            ? bound === 1 && issue.code === 'too_small'
              ? 'must not be empty'
              : `must be ${word} ${bound} characters`
            : `must be ${word} ${bound}, got ${describe(input)}`;
      return [{ path, message }];
    }
    case 'custom': {
      const params = (issue.params ?? {}) as { hint?: string; at?: 'key' };
      return [{ path, message: issue.message, ...(params.hint ? { hint: params.hint } : {}), ...(params.at ? { at: params.at } : {}) }];
    }
    default:
      return [{ path, message: issue.message }];
  }
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'number' && !Number.isInteger(v)) return `${v} (not a whole number)`;
  return `${typeof v} ${JSON.stringify(v)}`;
}

type AnySchema = z.core.$ZodType;

/** The keys the schema knows at a path, so an unknown key can be matched to a near one. */
function knownKeys(path: Path): string[] {
  let level: AnySchema[] = [rootSchema];
  for (const seg of path) {
    level = level.flatMap(unwrap).flatMap((s) => {
      const def = s._zod.def as unknown as Record<string, unknown> & { type: string };
      if (def.type === 'object') return (def['shape'] as Record<string, AnySchema>)[String(seg)] ?? [];
      if (def.type === 'array') return [def['element'] as AnySchema];
      if (def.type === 'record') return [def['valueType'] as AnySchema];
      return [];
    });
  }
  const keys = level.flatMap(unwrap).flatMap((s) => (s._zod.def.type === 'object' ? Object.keys((s._zod.def as unknown as { shape: object }).shape) : []));
  return [...new Set(keys)];
}

/** Sees through defaults, optionals, pipes and unions to the schemas that hold shape. */
function unwrap(s: AnySchema): AnySchema[] {
  const def = s._zod.def as unknown as Record<string, unknown> & { type: string };
  switch (def.type) {
    case 'default':
    case 'prefault':
    case 'optional':
    case 'nullable':
      return unwrap(def['innerType'] as AnySchema);
    case 'pipe':
      return [...unwrap(def['in'] as AnySchema), ...unwrap(def['out'] as AnySchema)];
    case 'union':
      return (def['options'] as AnySchema[]).flatMap(unwrap);
    default:
      return [s];
  }
}
