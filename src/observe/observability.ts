import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { AdminServer } from './admin/server.ts';
import type { Alert } from './alerts/alert.ts';
import { Alerter } from './alerts/alerter.ts';
import { WebhookSender } from './alerts/webhook.ts';
import { EndpointTracker, type PoolsLike } from './endpoints.ts';
import { FailureLog, isFailure } from './failures.ts';
import { GatewayMetrics } from './metrics.ts';
import { buildStatus, type StatusDoc } from './status.ts';
import { subscribe } from './subscribe.ts';
import type { SyntheticChecker } from './synthetic.ts';
import { type Second, Timeline } from './timeline.ts';

export type ObservabilityOptions = { readonly config: Config; readonly pools: PoolsLike; readonly events: Logger };

/** Called every second with the seconds just closed, and the status when it changed since the last call. */
export type TickListener = (seconds: Second[], status: StatusDoc | null) => void;

/**
 * Everything the operator sees of the gateway beside the access log: metrics, the status
 * API and dashboard, synthetic checks and alerts. It only listens to the gateway's
 * diagnostics channels; nothing here runs in the request's path except those subscribers,
 * which count and return.
 */
export class Observability {
  readonly metrics: GatewayMetrics;
  readonly timeline = new Timeline();
  readonly endpoints: EndpointTracker;
  readonly failures = new FailureLog(100);
  readonly alerter: Alerter;
  synthetic: SyntheticChecker | null = null;
  admin: AdminServer | null = null;
  private readonly config: Config;
  private readonly events: Logger;
  private readonly webhooks: WebhookSender;
  private readonly unsubscribe: () => void;
  private readonly listeners = new Set<TickListener>();
  private readonly startedAt = new Date();
  private listen: string[] = [];
  private changed = true;
  private ticker: NodeJS.Timeout | null = null;

  constructor(opts: ObservabilityOptions) {
    this.config = opts.config;
    this.events = opts.events;
    this.endpoints = new EndpointTracker(opts.pools, (v, was) => {
      this.changed = true;
      if (v.health !== 'idle' && was !== 'idle') this.events.info({ pool: v.pool, endpoint: v.address, health: v.health, was, reason: v.reason }, `endpoint ${v.address} is ${v.health}`);
    });
    this.metrics = new GatewayMetrics(() => this.endpoints.views());
    this.webhooks = new WebhookSender(opts.config.alerts.webhooks, opts.config.name, opts.events);
    this.alerter = new Alerter({
      alerts: opts.config.alerts,
      name: opts.config.name,
      events: opts.events,
      deliver: (a: Alert) => {
        this.changed = true;
        this.metrics.onAlert(a.key, a.kind, a.status === 'firing');
        this.webhooks.send(a);
      },
    });
    this.unsubscribe = subscribe(
      opts.pools,
      {
        requestEnd: (e) => {
          this.metrics.onRequest(e);
          this.timeline.onRequest(e);
          this.alerter.onRequest(e);
          if (isFailure(e)) {
            this.failures.add(e);
            this.changed = true;
          }
        },
        attemptEnd: (e) => {
          this.metrics.onAttempt(e);
          this.endpoints.onAttempt(e);
          this.alerter.onAttempt(e);
        },
        endpointHealth: (e) => {
          this.metrics.onHealth(e);
          this.endpoints.onHealth(e);
          this.alerter.onHealth(e);
          this.changed = true;
        },
        shed: (e) => {
          this.metrics.onShed(e);
          this.timeline.onMasked('shed');
          this.alerter.onMasked(e);
        },
        masked: (e) => {
          this.metrics.onMasked(e);
          this.timeline.onMasked(e.kind);
          this.alerter.onMasked(e);
        },
        certificate: (e) => this.alerter.onCertificate(e),
        tlsFailure: (e) => {
          if (this.listen.includes(e.listener)) this.metrics.onTlsFailure(e.listener, e.reason);
        },
      },
      (err) => this.events.error({ err }, 'observability subscriber failed'),
    );
  }

  /** Once the gateway listens: the admin listener, synthetic probes, alert evaluation, the per-second tick. */
  async start(gatewayUrl: string, listen: string[]): Promise<void> {
    this.listen = listen;
    const c = this.config;
    if (c.synthetic.length > 0) {
      // Loaded only when used: the admin listener and synthetic checks are off by default.
      const { SyntheticChecker } = await import('./synthetic.ts');
      this.synthetic = new SyntheticChecker({
        checks: c.synthetic,
        gatewayUrl: loopbackUrl(gatewayUrl),
        events: this.events,
        onProbe: (check, via, r) => {
          this.changed = true;
          this.metrics.onProbe({ check: check.name, via, ok: r.ok, result: r.ok ? 'ok' : (r.cause ?? 'error'), durationMs: r.durationMs });
        },
      });
      this.synthetic.start();
    }
    this.alerter.start();
    this.ticker = setInterval(() => this.tick(), 1000);
    this.ticker.unref();
    if (c.admin.listen) {
      const { startAdminServer } = await import('./admin/server.ts');
      this.admin = await startAdminServer({ ...c.admin.listen, token: c.admin.token, obs: this, events: this.events });
      this.events.info({ admin: this.admin.url }, `admin listener on ${this.admin.url}`);
    }
  }

  onTick(l: TickListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  status(): StatusDoc {
    return buildStatus({
      config: this.config,
      startedAt: this.startedAt,
      listen: this.listen,
      endpoints: this.endpoints.views(),
      history: (pool, address) => this.endpoints.history(pool, address),
      series: this.timeline.series(),
      latency: this.timeline.latency(),
      failures: this.failures.list(),
      synthetic: this.synthetic?.status() ?? [],
      firing: this.alerter.firing(),
      alertHistory: this.alerter.history(),
    });
  }

  async stop(): Promise<void> {
    this.unsubscribe();
    if (this.ticker) clearInterval(this.ticker);
    this.alerter.stop();
    await Promise.all([this.admin?.close(), this.synthetic?.stop()]);
    await this.webhooks.close();
  }

  private tick(): void {
    this.endpoints.refresh();
    const seconds = this.timeline.tick();
    if (this.listeners.size === 0) return;
    // Built once a tick for every dashboard, and only when something changed.
    const status = this.changed ? this.status() : null;
    this.changed = false;
    for (const l of this.listeners) {
      try {
        l(seconds, status);
      } catch (err) {
        this.events.error({ err }, 'dashboard tick failed');
      }
    }
  }
}

/** A gateway on 0.0.0.0 or [::] is probed on loopback: the wildcard is not an address to connect to. */
function loopbackUrl(url: string): string {
  return url.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//[::1]:');
}
