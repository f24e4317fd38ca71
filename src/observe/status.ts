import type { Config } from '../config/schema.ts';
import type { Alert } from './alerts/alert.ts';
import type { EndpointView, HealthChange } from './endpoints.ts';
import type { Failure } from './failures.ts';
import type { CheckStatus } from './synthetic.ts';
import type { Second } from './timeline.ts';

/** What /api/status answers, and what the dashboard draws. */
export type StatusDoc = {
  readonly gateway: {
    readonly name: string;
    readonly startedAt: string;
    readonly uptimeSeconds: number;
    readonly listen: readonly string[];
    readonly node: string;
    readonly pid: number;
  };
  readonly routes: readonly {
    readonly name: string;
    readonly host: string | null;
    readonly path: string;
    readonly upstream: string;
    readonly slo: { readonly availability: number | null; readonly latency: { readonly thresholdMs: number; readonly target: number } | null } | null;
  }[];
  readonly pools: readonly { readonly name: string; readonly endpoints: readonly (EndpointView & { readonly history: readonly HealthChange[] })[] }[];
  /** Over the time series held (up to the last hour). */
  readonly totals: {
    readonly seconds: number;
    readonly requests: number;
    readonly failures: number;
    readonly causes: Readonly<Record<string, number>>;
    readonly masked: Readonly<Record<string, number>>;
  };
  readonly latency: { readonly p50: number | null; readonly p95: number | null; readonly p99: number | null; readonly count: number; readonly windowSeconds: number };
  /** Newest first. */
  readonly failures: readonly Failure[];
  readonly synthetic: readonly CheckStatus[];
  readonly alerts: { readonly firing: readonly Alert[]; readonly history: readonly Alert[] };
};

export type StatusParts = {
  readonly config: Config;
  readonly startedAt: Date;
  readonly listen: readonly string[];
  readonly endpoints: readonly EndpointView[];
  readonly history: (pool: string, address: string) => HealthChange[];
  readonly series: readonly Second[];
  readonly latency: StatusDoc['latency'];
  readonly failures: readonly Failure[];
  readonly synthetic: readonly CheckStatus[];
  readonly firing: readonly Alert[];
  readonly alertHistory: readonly Alert[];
};

export function buildStatus(p: StatusParts): StatusDoc {
  const slo = new Map(p.config.alerts.slo.map((s) => [s.route, s]));
  const causes: Record<string, number> = {};
  const masked: Record<string, number> = {};
  let requests = 0;
  let failures = 0;
  for (const s of p.series) {
    requests += s.requests;
    failures += s.failures;
    for (const [k, v] of Object.entries(s.causes)) causes[k] = (causes[k] ?? 0) + v;
    for (const [k, v] of Object.entries(s.masked)) masked[k] = (masked[k] ?? 0) + v;
  }
  return {
    gateway: {
      name: p.config.name,
      startedAt: p.startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - p.startedAt.getTime()) / 1000),
      listen: p.listen,
      node: process.version,
      pid: process.pid,
    },
    routes: p.config.routes.map((r) => {
      const s = slo.get(r.name);
      return { name: r.name, host: r.host, path: r.pathPrefix, upstream: r.upstream, slo: s ? { availability: s.availability, latency: s.latency } : null };
    }),
    pools: Object.keys(p.config.upstreams).map((name) => ({
      name,
      endpoints: p.endpoints.filter((e) => e.pool === name).map((e) => ({ ...e, history: p.history(name, e.address) })),
    })),
    totals: { seconds: p.series.length, requests, failures, causes, masked },
    latency: p.latency,
    failures: [...p.failures].reverse(),
    synthetic: p.synthetic,
    alerts: { firing: p.firing, history: [...p.alertHistory].reverse() },
  };
}
