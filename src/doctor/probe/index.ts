// `gatewise doctor URL` as a library: walk DNS → TCP → TLS → HTTP to the URL (and, when
// asked, straight to the origin), as many times as asked, and say which hop broke.
import { setTimeout as sleep } from 'node:timers/promises';
import { compare } from '../verdict/compare.ts';
import { hopShares } from '../verdict/shares.ts';
import { verdictOf } from '../verdict/verdict.ts';
import { warningsOf } from '../verdict/warnings.ts';
import { DoctorUsageError, originTarget, parseResolver, parseTarget, resolveTarget, type Target } from './target.ts';
import type { DoctorReport, Walk } from './types.ts';
import { walk, type WalkOptions } from './walk.ts';

export { DoctorUsageError } from './target.ts';
export type * from './types.ts';

export type DiagnoseOptions = {
  /** IP:PORT of the DNS server to ask; default the system's (dns.getServers()). */
  resolver?: string | null;
  /** Default 3000: long enough for a distant host, short enough that a dropped SYN is not mistaken for slowness. */
  connectTimeoutMs?: number;
  /** The first DNS try; the second waits twice as long. Default 2000. */
  dnsTimeoutMs?: number;
  /** For the response headers and body. Default 10000. */
  timeoutMs?: number;
  /** `HOST:PORT` or `scheme://HOST:PORT`: also send the request straight to the origin. */
  origin?: string | null;
  /** `HOST:PORT:ADDR` (curl's --resolve): the origin is ADDR, asked with the URL's Host. */
  resolve?: string | null;
  /** Runs, for intermittent failures. Default 1. */
  repeat?: number;
  /** Pause between runs. Default 200. */
  intervalMs?: number;
  method?: string;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Extra CA certificates (PEM) to trust, for internal CAs. */
  ca?: string | Buffer | null;
};

export async function diagnoseUrl(url: string, opts: DiagnoseOptions = {}): Promise<DoctorReport> {
  const target = parseTarget(url);
  const originTo = originOf(target, opts);
  const resolver = opts.resolver ? parseResolver(opts.resolver) : null;
  const settings = {
    resolver,
    connectTimeoutMs: positive(opts.connectTimeoutMs ?? 3000, 'the connect timeout'),
    dnsTimeoutMs: positive(opts.dnsTimeoutMs ?? 2000, 'the DNS timeout'),
    timeoutMs: positive(opts.timeoutMs ?? 10_000, 'the timeout'),
    repeat: count(opts.repeat ?? 1),
    intervalMs: Math.max(0, opts.intervalMs ?? 200),
    origin: originTo === null ? null : originLabel(originTo),
  };
  const walkOpts: WalkOptions = {
    dns: { resolver, timeoutMs: settings.dnsTimeoutMs },
    connectTimeoutMs: settings.connectTimeoutMs,
    timeoutMs: settings.timeoutMs,
    method: (opts.method ?? 'GET').toUpperCase(),
    headers: Object.fromEntries(Object.entries(opts.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    ca: opts.ca ?? null,
  };

  const runs: Walk[] = [];
  const originRuns: Walk[] = [];
  for (let i = 0; i < settings.repeat; i++) {
    if (i > 0 && settings.intervalMs > 0) await sleep(settings.intervalMs);
    const [u, o] = await Promise.all([walk(target, 'url', walkOpts), originTo === null ? null : walk(originTo, 'origin', walkOpts)]);
    runs.push(u);
    if (o !== null) originRuns.push(o);
  }

  const firstFailed = Math.max(0, runs.findIndex((w) => w.failedAt !== null));
  return {
    url: target.url,
    generatedAt: new Date().toISOString(),
    settings,
    runs,
    originRuns,
    shares: hopShares(runs),
    originShares: originTo === null ? null : hopShares(originRuns),
    comparison: originTo === null ? null : compare(runs[firstFailed]!, originRuns[firstFailed]!, settings.origin!),
    warnings: warningsOf([...runs, ...originRuns]),
    verdict: verdictOf(runs, originRuns, settings.origin),
  };
}

function originOf(target: Target, opts: DiagnoseOptions): Target | null {
  if (opts.origin && opts.resolve) throw new DoctorUsageError('give either --origin or --resolve, not both: both name the origin');
  if (opts.origin) return originTarget(target, opts.origin);
  if (opts.resolve) return resolveTarget(target, opts.resolve);
  return null;
}

function originLabel(t: Target): string {
  const addr = t.pinnedAddress ?? t.host;
  return `${t.scheme}://${addr.includes(':') ? `[${addr}]` : addr}:${t.port}`;
}

function positive(ms: number, what: string): number {
  if (!Number.isFinite(ms) || ms <= 0) throw new DoctorUsageError(`${what} must be longer than 0`);
  return ms;
}

function count(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new DoctorUsageError('--repeat must be a whole number from 1 to 10000');
  return n;
}
