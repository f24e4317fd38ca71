import { Counter, collectDefaultMetricsButCpu, Gauge, Registry } from './prom-parts.ts';
import { processCpuMetrics } from './process-cpu.ts';
import type { EndpointView, Health } from './endpoints.ts';
import { CounterFamily, HistogramFamily } from './metric-cells.ts';
import type { AttemptEndEvent, EndpointHealthEvent, MaskedEvent, RequestEndEvent, ShedEvent } from './events.ts';

const STATUS_CLASS = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'];

const HEALTH = ['up', 'down', 'failing', 'idle'] as const satisfies readonly Health[];

/** Seconds; from a cache hit to the default total timeout. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** A probe's outcome, as the metrics see it. */
export type ProbeSample = { check: string; via: 'gateway' | 'origin'; ok: boolean; result: string; durationMs: number };

/**
 * The gateway's Prometheus metrics, on a private registry so that two gateways in one
 * process (tests, embedders) never share counters, and an embedder's own metrics stay theirs.
 * "none" stands for "no error" in error_type labels: an empty label value is the same as an
 * absent label to Prometheus, which would make `error_type=""` unselectable.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  // Counted on every request: cells resolved once per label set (see metric-cells.ts).
  private readonly requests: CounterFamily;
  private readonly duration: HistogramFamily;
  private readonly upstreamDuration: HistogramFamily;
  private readonly tries: CounterFamily;
  private readonly retries: CounterFamily;
  private readonly cacheResults: CounterFamily;
  private readonly tlsFailures: Counter<'listener' | 'reason'>;
  private readonly healthChanges: Counter<'pool' | 'endpoint' | 'state' | 'by'>;
  private readonly ejections: Counter<'pool' | 'endpoint' | 'by'>;
  private readonly shed: Counter<'pool' | 'reason'>;
  private readonly masked: Counter<'pool' | 'kind'>;
  private readonly probeUp: Gauge<'check' | 'via'>;
  private readonly probeSeconds: Gauge<'check' | 'via'>;
  private readonly probes: Counter<'check' | 'via' | 'result'>;
  private readonly alerts: Gauge<'alert' | 'kind'>;

  constructor(endpoints: () => EndpointView[]) {
    const registers = [this.registry];
    collectDefaultMetricsButCpu(this.registry);
    processCpuMetrics(this.registry);
    const registry = this.registry;
    this.requests = new CounterFamily({
      name: 'gatewise_requests_total',
      help: 'Requests answered, by route, status class and Proxy-Status error type ("none" when the gateway saw no error).',
      labelNames: ['route', 'status_class', 'error_type'],
      registry,
    });
    this.duration = new HistogramFamily({
      name: 'gatewise_request_duration_seconds',
      help: 'Time from the request arriving to the response ending, by route.',
      labelNames: ['route'],
      buckets: BUCKETS,
      registry,
    });
    this.upstreamDuration = new HistogramFamily({
      name: 'gatewise_upstream_try_duration_seconds',
      help: 'Duration of each try against an endpoint, by pool and endpoint.',
      labelNames: ['pool', 'endpoint'],
      buckets: BUCKETS,
      registry,
    });
    this.tries = new CounterFamily({
      name: 'gatewise_upstream_tries_total',
      help: 'Tries against endpoints (the first and every retry), by outcome.',
      labelNames: ['pool', 'endpoint', 'error_type'],
      registry,
    });
    this.cacheResults = new CounterFamily({
      name: 'gatewise_cache_results_total',
      help: 'Requests on cached routes, by how the cache answered: hit (stored and fresh), miss (from the origin), revalidated (stored, confirmed by the origin with a 304), stale (a stored copy stood in for a failed origin).',
      labelNames: ['route', 'result'],
      registry,
    });
    this.retries = new CounterFamily({
      name: 'gatewise_retries_total',
      help: 'Retries (every try after the first), by their outcome: error_type="none" is a retry that worked and hid a failure from the client.',
      labelNames: ['pool', 'error_type'],
      registry,
    });
    new Gauge({
      name: 'gatewise_endpoint_up',
      help: 'Whether an endpoint takes traffic and its last tries worked (1), or is down or failing (0).',
      labelNames: ['pool', 'endpoint'],
      registers,
      collect() {
        for (const v of endpoints()) this.set({ pool: v.pool, endpoint: v.address }, v.health === 'down' || v.health === 'failing' ? 0 : 1);
      },
    });
    new Gauge({
      name: 'gatewise_endpoint_health',
      help: 'The health the gateway sees, one series per state with 1 on the current one: up, down (taken out), failing (its last tries failed), idle (no traffic yet).',
      labelNames: ['pool', 'endpoint', 'health'],
      registers,
      collect() {
        for (const v of endpoints()) {
          for (const h of HEALTH) this.set({ pool: v.pool, endpoint: v.address, health: h }, v.health === h ? 1 : 0);
        }
      },
    });
    this.healthChanges = new Counter({
      name: 'gatewise_endpoint_health_changes_total',
      help: 'Health decisions the gateway published (up/down), by who decided.',
      labelNames: ['pool', 'endpoint', 'state', 'by'],
      registers,
    });
    this.ejections = new Counter({
      name: 'gatewise_ejections_total',
      help: 'Endpoints taken out of rotation by passive health (outlier detection) or an open breaker.',
      labelNames: ['pool', 'endpoint', 'by'],
      registers,
    });
    this.shed = new Counter({
      name: 'gatewise_shed_total',
      help: 'Requests refused to protect an overloaded pool.',
      labelNames: ['pool', 'reason'],
      registers,
    });
    this.masked = new Counter({
      name: 'gatewise_masked_failures_total',
      help: 'Failures the gateway absorbed so the client never saw them: retry, dns_stale, waited, ejection, stale_cache.',
      labelNames: ['pool', 'kind'],
      registers,
    });
    this.tlsFailures = new Counter({
      name: 'gatewise_tls_handshake_failures_total',
      help: 'Clients whose TLS handshake with a listener failed, by reason (OpenSSL\'s, e.g. wrong_version_number, http_request for plain HTTP sent to the TLS port).',
      labelNames: ['listener', 'reason'],
      registers,
    });
    this.probeUp = new Gauge({
      name: 'gatewise_synthetic_up',
      help: 'Whether the last synthetic probe succeeded, through the gateway or straight to the origin.',
      labelNames: ['check', 'via'],
      registers,
    });
    this.probeSeconds = new Gauge({
      name: 'gatewise_synthetic_duration_seconds',
      help: 'Duration of the last synthetic probe.',
      labelNames: ['check', 'via'],
      registers,
    });
    this.probes = new Counter({
      name: 'gatewise_synthetic_probes_total',
      help: 'Synthetic probes, by result (ok, an error type, or an HTTP status).',
      labelNames: ['check', 'via', 'result'],
      registers,
    });
    this.alerts = new Gauge({
      name: 'gatewise_alert_firing',
      help: 'Alerts firing now (1); resolved alerts go back to 0.',
      labelNames: ['alert', 'kind'],
      registers,
    });
  }

  onRequest(e: RequestEndEvent): void {
    const route = e.route ?? '(none)';
    this.requests.cell(route, STATUS_CLASS[Math.floor(e.status / 100)] ?? `${Math.floor(e.status / 100)}xx`, e.errorType ?? 'none').value++;
    this.duration.observe(this.duration.cell(route), e.durationMs / 1000);
    if (e.cache) this.cacheResults.cell(route, e.cache).value++;
  }

  onTlsFailure(listener: string, reason: string): void {
    this.tlsFailures.inc({ listener, reason });
  }

  onAttempt(e: AttemptEndEvent): void {
    this.upstreamDuration.observe(this.upstreamDuration.cell(e.pool, e.endpoint), e.durationMs / 1000);
    this.tries.cell(e.pool, e.endpoint, e.errorType ?? 'none').value++;
    // Counted when a retry happens, not when one is decided: a decision can still end
    // with no endpoint to try.
    if (e.attempt > 1) this.retries.cell(e.pool, e.errorType ?? 'none').value++;
  }

  onHealth(e: EndpointHealthEvent): void {
    this.healthChanges.inc({ pool: e.pool, endpoint: e.endpoint, state: e.state, by: e.by });
    if (e.state === 'down' && e.by !== 'active') this.ejections.inc({ pool: e.pool, endpoint: e.endpoint, by: e.by });
  }

  onShed(e: ShedEvent): void {
    this.shed.inc({ pool: e.pool, reason: e.reason });
  }

  onMasked(e: MaskedEvent): void {
    this.masked.inc({ pool: e.pool, kind: e.kind });
  }

  onProbe(p: ProbeSample): void {
    const labels = { check: p.check, via: p.via };
    this.probeUp.set(labels, p.ok ? 1 : 0);
    this.probeSeconds.set(labels, p.durationMs / 1000);
    this.probes.inc({ ...labels, result: p.result });
  }

  onAlert(alert: string, kind: string, firing: boolean): void {
    this.alerts.set({ alert, kind }, firing ? 1 : 0);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
