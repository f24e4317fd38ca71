import type { Logger } from 'pino';
import type { Alerts, BurnWindow } from '../../config/schema.ts';
import { isProxyErrorType, PROXY_ERROR_TYPES } from '../../errors/types.ts';
import type { CertificateEvent } from '../cert-events.ts';
import type { AttemptEndEvent, EndpointHealthEvent, MaskedEvent, RequestEndEvent, ShedEvent } from '../events.ts';
import { ORIGIN_5XX } from '../failures.ts';
import { Ring } from '../ring.ts';
import { type Alert, type AlertCause, describeHop, formatDurationShort, percent } from './alert.ts';
import { burnRate, SloCounts } from './slo.ts';

type Slo = Alerts['slo'][number];
type Recent = { t: number; route: string | null; pool: string | null; upstream: string | null; cause: string; requestId: string; slow: boolean; bad: boolean };
type Firing = Omit<Alert, 'status' | 'endsAt'>;

export type AlerterOptions = {
  readonly alerts: Alerts;
  /** The gateway's name, for the messages. */
  readonly name: string;
  readonly events: Logger;
  /** Delivers a firing or resolved alert (the webhooks). */
  readonly deliver: (a: Alert) => void;
  readonly now?: () => number;
};

/** Remembered bad and slow requests, to name an alert's cause and hop. */
const RECENT = 2000;
const HISTORY = 50;

/**
 * Multi-window burn-rate alerts on each route's SLO (the Google SRE workbook, "Alerting on
 * SLOs", approach 6), plus endpoint down/up, certificate expiry and masked-failure alerts.
 * Every alert has a key; it fires once and stays quiet until it resolves.
 */
export class Alerter {
  private readonly opts: AlerterOptions;
  private readonly now: () => number;
  private readonly slo = new Map<string, { spec: Slo; counts: SloCounts }>();
  private readonly recent = new Ring<Recent>(RECENT);
  private readonly masked = new Map<string, { counts: SloCounts; kinds: Ring<{ t: number; kind: string }> }>();
  private readonly active = new Map<string, Firing>();
  /** Endpoints down, not yet alerted: they must stay down endpointDownAfterMs first. */
  private readonly pendingDown = new Map<string, { e: EndpointHealthEvent; since: number }>();
  /** The last failed try of each pool, to say what lies under "no endpoint available". */
  private readonly lastFailed = new Map<string, { endpoint: string; type: string; t: number }>();
  private readonly log = new Ring<Alert>(HISTORY);
  private timer: NodeJS.Timeout | null = null;

  constructor(opts: AlerterOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    const longest = Math.max(...opts.alerts.windows.map((w) => w.longMs));
    for (const s of opts.alerts.slo) this.slo.set(s.route, { spec: s, counts: new SloCounts(longest) });
  }

  /** Evaluates often enough to catch the shortest window's changes, at most every 10 s. */
  start(): void {
    const shortest = Math.min(...this.opts.alerts.windows.map((w) => w.shortMs), this.opts.alerts.masked?.windowMs ?? Number.POSITIVE_INFINITY);
    const every = Math.min(10_000, Math.max(1_000, Math.floor(shortest / 10)));
    this.timer = setInterval(() => this.evaluate(), every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  firing(): Alert[] {
    return [...this.active.values()].map((a) => ({ ...a, status: 'firing' as const, endsAt: null }));
  }

  /** The last firing and resolved messages, oldest first. */
  history(): Alert[] {
    return this.log.toArray();
  }

  onRequest(e: RequestEndEvent): void {
    const s = e.route === null ? undefined : this.slo.get(e.route);
    // A client that went away (499) or a request the gateway refused as malformed spends no budget.
    const bad = e.status >= 500;
    const slow = s?.spec.latency ? e.durationMs > s.spec.latency.thresholdMs : false;
    const t = this.now();
    s?.counts.add(t, bad, slow);
    if (bad || slow) {
      this.recent.push({ t, route: e.route, pool: e.pool, upstream: e.upstream, cause: e.errorType ?? ORIGIN_5XX, requestId: e.requestId, slow, bad });
    }
  }

  onMasked(e: MaskedEvent | ShedEvent): void {
    if (!this.opts.alerts.masked) return;
    let m = this.masked.get(e.pool);
    if (!m) {
      m = { counts: new SloCounts(this.opts.alerts.masked.windowMs), kinds: new Ring(RECENT) };
      this.masked.set(e.pool, m);
    }
    const t = this.now();
    m.counts.add(t, false, false);
    m.kinds.push({ t, kind: 'kind' in e ? e.kind : 'shed' });
  }

  onAttempt(e: AttemptEndEvent): void {
    if (e.errorType !== null && PROXY_ERROR_TYPES[e.errorType].hop === 'origin') {
      this.lastFailed.set(e.pool, { endpoint: e.endpoint, type: e.errorType, t: this.now() });
    }
  }

  /**
   * Down and up decisions of the gateway's health checks. An endpoint alert waits
   * endpointDownAfterMs, so that a short ejection (which the gateway absorbs) pages nobody,
   * and stays quiet while an SLO alert on its pool already names it as the hop: one outage,
   * one message.
   */
  onHealth(e: EndpointHealthEvent): void {
    const key = `endpoint_down:${e.pool}/${e.endpoint}`;
    if (e.state === 'up') {
      this.pendingDown.delete(key);
      this.resolve(key, `Endpoint ${e.endpoint} of upstream "${e.pool}" is back up (${e.by}: ${e.reason})`);
      return;
    }
    if (this.active.has(key)) return;
    const since = this.pendingDown.get(key)?.since ?? this.now();
    this.pendingDown.set(key, { e, since });
    if (this.opts.alerts.endpointDownAfterMs === 0) this.checkEndpoints(this.now());
  }

  onCertificate(e: CertificateEvent): void {
    const days = this.opts.alerts.certificateDays;
    const key = `certificate_expiry:${e.pool}/${e.endpoint}`;
    const left = (e.validTo.getTime() - this.now()) / 86_400_000;
    const date = e.validTo.toISOString().slice(0, 10);
    if (days === 0 || left >= days) {
      this.resolve(key, `The certificate of ${e.endpoint} (upstream "${e.pool}") now expires on ${date}`);
      return;
    }
    const who = `${e.endpoint}${e.subject ? ` (${e.subject})` : ''}`;
    const hop = describeHop('origin', e.pool, e.endpoint);
    const cause = { type: 'tls_certificate_error', ...pick(PROXY_ERROR_TYPES.tls_certificate_error) };
    this.fire({
      key,
      kind: 'certificate_expiry',
      severity: left < 3 ? 'critical' : 'warning',
      summary:
        left <= 0
          ? `The certificate of ${who}, upstream "${e.pool}", expired on ${date}`
          : `The certificate of ${who}, upstream "${e.pool}", expires in ${Math.floor(left)} days (${date})`,
      details: [`hop: ${hop}`, 'once it expires, every TLS handshake fails with tls_certificate_error', `what to check: renew the certificate on the origin (warning starts ${days} days before)`],
      cause,
      underlying: null,
      hop,
      route: null,
      pool: e.pool,
      endpoint: e.endpoint,
      startsAt: new Date(this.now()).toISOString(),
    });
  }

  /** Checks every SLO and the masked-failure thresholds now. */
  evaluate(): void {
    const now = this.now();
    for (const { spec, counts } of this.slo.values()) {
      if (spec.availability !== null) this.checkSlo(spec, counts, now, 'availability', spec.availability);
      if (spec.latency) this.checkSlo(spec, counts, now, 'latency', spec.latency.target);
    }
    const m = this.opts.alerts.masked;
    if (m) for (const [pool, x] of this.masked) this.checkMasked(pool, x, m, now);
    this.checkEndpoints(now);
  }

  private checkEndpoints(now: number): void {
    for (const [key, { e, since }] of this.pendingDown) {
      if (now - since < this.opts.alerts.endpointDownAfterMs) continue;
      if ([...this.active.values()].some((a) => a.kind.startsWith('slo_') && a.pool === e.pool)) continue;
      this.pendingDown.delete(key);
      const hop = describeHop('origin', e.pool, e.endpoint);
      const cause = causeFromText(e.reason);
      const by = e.by === 'active' ? 'its health check' : e.by === 'passive' ? 'passive health (outlier ejection)' : 'the circuit breaker';
      this.fire({
        key,
        kind: 'endpoint_down',
        severity: 'warning',
        summary: `Endpoint ${e.endpoint} of upstream "${e.pool}" is down: ${e.reason}`,
        details: [
          `decided by ${by}${now > since ? `, down for ${formatDurationShort(now - since)}` : ''}`,
          `hop: ${hop}`,
          ...(cause ? [`cause: ${cause.title} (${cause.type})`, `what to check: ${cause.operator}`] : []),
        ],
        cause,
        underlying: null,
        hop,
        route: null,
        pool: e.pool,
        endpoint: e.endpoint,
        startsAt: new Date(since).toISOString(),
      });
    }
  }

  private checkSlo(spec: Slo, counts: SloCounts, now: number, which: 'availability' | 'latency', target: number): void {
    const key = `slo_${which}:${spec.route}`;
    const rate = (w: number) => {
      const c = counts.sum(w, now);
      const bad = which === 'availability' ? c.bad : c.slow;
      return { share: c.total === 0 ? 0 : bad / c.total, burn: burnRate(bad, c.total, target), total: c.total, bad };
    };
    let hit: { w: BurnWindow; long: ReturnType<typeof rate>; short: ReturnType<typeof rate> } | null = null;
    for (const w of this.opts.alerts.windows) {
      const long = rate(w.longMs);
      const short = rate(w.shortMs);
      if (long.burn > w.burnRate && short.burn > w.burnRate) {
        hit = { w, long, short };
        break;
      }
    }
    const objective =
      which === 'availability' ? `${percent(target)} availability SLO` : `latency SLO (${percent(target)} under ${spec.latency!.thresholdMs} ms)`;
    if (!hit) {
      const w = this.opts.alerts.windows[0]!;
      const short = rate(w.shortMs);
      const word = which === 'availability' ? 'failed' : 'were slow';
      this.resolve(key, `Route "${spec.route}" is back within its ${objective}: ${percent(short.share)} ${word} in the last ${formatDurationShort(w.shortMs)}`);
      return;
    }
    if (this.active.has(key)) return;
    const { w, long, short } = hit;
    const since = now - w.shortMs;
    const recent = this.recent.toArray().filter((r) => r.t >= since && r.route === spec.route && (which === 'availability' ? r.bad : r.slow));
    const top = dominant(recent.map((r) => r.cause));
    const ofTop = recent.filter((r) => which === 'latency' || r.cause === top);
    const pool = ofTop.find((r) => r.pool)?.pool ?? null;
    const cause = which === 'availability' && top ? causeOf(top) : null;
    // Requests that found no endpoint name none: the pool's last failed try says which and why.
    const tried = pool ? this.lastFailed.get(pool) : undefined;
    const recentTry = tried && tried.t >= since ? tried : undefined;
    const upstream = dominant(ofTop.map((r) => r.upstream ?? '')) || recentTry?.endpoint || '';
    const underlying = cause && recentTry && recentTry.type !== cause.type && !ofTop.some((r) => r.upstream) ? causeOf(recentTry.type) : null;
    const hop = describeHop(cause?.hop ?? 'origin', pool, upstream || null);
    const windows = `${formatDurationShort(w.longMs)}: ${percent(long.share)} (${long.burn.toFixed(1)}×), ${formatDurationShort(w.shortMs)}: ${percent(short.share)} (${short.burn.toFixed(1)}×); alert above ${w.burnRate}×`;
    const summary =
      which === 'availability'
        ? `Route "${spec.route}" is burning its ${objective} ${short.burn.toFixed(0)}× too fast: ${percent(short.share)} of requests failed in the last ${formatDurationShort(w.shortMs)}${cause ? ` — ${cause.title} (${cause.type})` : ''}`
        : `Route "${spec.route}" is burning its ${objective} ${short.burn.toFixed(0)}× too fast: ${percent(short.share)} of requests were slower than ${spec.latency!.thresholdMs} ms in the last ${formatDurationShort(w.shortMs)}`;
    const ids = ofTop.slice(-3).map((r) => r.requestId);
    this.fire({
      key,
      kind: which === 'availability' ? 'slo_availability' : 'slo_latency',
      severity: 'critical',
      summary,
      details: [
        ...(cause ? [`cause: ${cause.title} (${cause.type}, ${ofTop.length} of ${recent.length} failures)`] : []),
        ...(underlying ? [`because: ${underlying.title} (${underlying.type}, the last try at ${upstream})`] : []),
        `hop: ${hop}`,
        ...(cause ? [`what to check: ${(underlying ?? cause).operator}`] : []),
        `error budget burn: ${windows}`,
        ...(ids.length ? [`request ids: ${ids.join(', ')}`] : []),
      ],
      cause,
      underlying,
      hop,
      route: spec.route,
      pool,
      endpoint: upstream || null,
      startsAt: new Date(now).toISOString(),
    });
  }

  private checkMasked(pool: string, x: { counts: SloCounts; kinds: Ring<{ t: number; kind: string }> }, m: NonNullable<Alerts['masked']>, now: number): void {
    const key = `masked_failures:${pool}`;
    const n = x.counts.sum(m.windowMs, now).total;
    const span = formatDurationShort(m.windowMs);
    if (n <= m.threshold) {
      this.resolve(key, `Upstream "${pool}" masks few failures again: ${n} in the last ${span} (threshold ${m.threshold})`);
      return;
    }
    if (this.active.has(key)) return;
    const byKind = new Map<string, number>();
    for (const k of x.kinds.toArray()) if (k.t >= now - m.windowMs) byKind.set(k.kind, (byKind.get(k.kind) ?? 0) + 1);
    const parts = [...byKind].sort((a, b) => b[1] - a[1]).map(([k, c]) => `${c} ${k}`);
    const hop = describeHop('origin', pool, null);
    this.fire({
      key,
      kind: 'masked_failures',
      severity: 'warning',
      summary: `Upstream "${pool}" is hiding failures from clients: ${n} in the last ${span} (threshold ${m.threshold})`,
      details: [`absorbed: ${parts.join(', ')}`, `hop: ${hop}`, 'clients still get answers, but the origin is failing: the next failure may not be absorbable'],
      cause: null,
      underlying: null,
      hop,
      route: null,
      pool,
      endpoint: null,
      startsAt: new Date(now).toISOString(),
    });
  }

  private fire(a: Firing): void {
    if (this.active.has(a.key)) return;
    this.active.set(a.key, a);
    const msg: Alert = { ...a, status: 'firing', endsAt: null };
    this.log.push(msg);
    this.opts.events.warn({ alert: a.key, kind: a.kind }, `alert firing: ${a.summary}`);
    this.opts.deliver(msg);
  }

  private resolve(key: string, summary: string): void {
    const was = this.active.get(key);
    if (!was) return;
    this.active.delete(key);
    const now = this.now();
    const lasted = formatDurationShort(now - Date.parse(was.startsAt));
    const msg: Alert = {
      ...was,
      status: 'resolved',
      summary,
      details: [`was firing for ${lasted}: ${was.summary}`, ...(was.hop ? [`hop: ${was.hop}`] : [])],
      endsAt: new Date(now).toISOString(),
    };
    this.log.push(msg);
    this.opts.events.info({ alert: key, kind: was.kind }, `alert resolved: ${summary}`);
    this.opts.deliver(msg);
  }
}

function pick(info: { title: string; hop: AlertCause['hop']; operator: string }): Omit<AlertCause, 'type'> {
  return { title: info.title, hop: info.hop, operator: info.operator };
}

function causeOf(type: string): AlertCause {
  if (isProxyErrorType(type)) return { type, ...pick(PROXY_ERROR_TYPES[type]) };
  return {
    type,
    title: 'The origin server answered with a server error (5xx)',
    hop: 'origin',
    operator: 'The origin produced the error itself: look its request ids up in its own logs.',
  };
}

/** The first Proxy-Status error type named in a free-text reason, if any. */
function causeFromText(text: string): AlertCause | null {
  for (const word of text.split(/[^a-z_]+/)) if (isProxyErrorType(word)) return causeOf(word);
  return null;
}

function dominant(values: string[]): string | null {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: string | null = null;
  let n = 0;
  for (const [v, c] of counts) if (c > n) [best, n] = [v, c];
  return best;
}
