import type { Hop } from '../../errors/types.ts';

export type AlertKind = 'slo_availability' | 'slo_latency' | 'endpoint_down' | 'certificate_expiry' | 'masked_failures';

/** The cause an alert names, from the error table: what broke, on which hop, what to check. */
export type AlertCause = { readonly type: string; readonly title: string; readonly hop: Hop; readonly operator: string };

export type Alert = {
  /** One alert per key: it fires once and stays firing until resolved. */
  readonly key: string;
  readonly kind: AlertKind;
  readonly severity: 'critical' | 'warning';
  readonly status: 'firing' | 'resolved';
  /** One line: what is wrong, where. */
  readonly summary: string;
  /** More lines: cause, hop, what to check, the numbers. */
  readonly details: readonly string[];
  readonly cause: AlertCause | null;
  /**
   * What the tries behind the cause met, when that says more: "no endpoint available"
   * (destination_unavailable) because each connect was refused (connection_refused).
   */
  readonly underlying: AlertCause | null;
  /** The link that broke, in words: `gateway → origin 10.0.0.7:8080 (upstream app)`. */
  readonly hop: string | null;
  readonly route: string | null;
  readonly pool: string | null;
  readonly endpoint: string | null;
  readonly startsAt: string;
  readonly endsAt: string | null;
};

/** The hop in words, from the error table's hop and the endpoint the failures went to. */
export function describeHop(hop: Hop, pool: string | null, endpoint: string | null): string {
  if (hop === 'client') return 'client → gateway';
  if (hop === 'gateway') return 'the gateway itself';
  const where = endpoint ? ` ${endpoint}` : '';
  return `gateway → origin${where}${pool ? ` (upstream ${pool})` : ''}`;
}

/** Generic JSON: every field, for a program to route on. */
export function jsonPayload(gateway: string, a: Alert): Record<string, unknown> {
  return {
    gateway,
    status: a.status,
    alert: a.key,
    kind: a.kind,
    severity: a.severity,
    summary: a.summary,
    text: [a.summary, ...a.details].join('\n'),
    details: a.details,
    cause: a.cause,
    underlying: a.underlying,
    hop: a.hop,
    route: a.route,
    pool: a.pool,
    endpoint: a.endpoint,
    startsAt: a.startsAt,
    endsAt: a.endsAt,
  };
}

/** Slack's incoming-webhook shape (also understood by Mattermost, Rocket.Chat and Discord's /slack endpoint). */
export function slackPayload(gateway: string, a: Alert): { text: string } {
  const icon = a.status === 'resolved' ? ':white_check_mark:' : a.severity === 'critical' ? ':rotating_light:' : ':warning:';
  const head = `${icon} *${a.status === 'resolved' ? 'RESOLVED' : 'FIRING'}* [${gateway}] ${a.summary}`;
  return { text: [head, ...a.details.map((d) => `> ${d}`)].join('\n') };
}

export function formatDurationShort(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
}

export function percent(x: number): string {
  const p = x * 100;
  return `${p >= 10 || p === 0 ? p.toFixed(0) : p < 0.1 ? p.toFixed(3) : p.toFixed(1)}%`;
}
