import type { Logger } from 'pino';
import { loadPool } from './undici-parts.ts';
import { LazyDispatcher } from './lazy-dispatcher.ts';
import type { Config, Upstream } from '../config/schema.ts';
import type { ProxyError } from '../errors/proxy-error.ts';
import { publishPeerCertificate } from '../observe/cert-events.ts';
import { publishEndpointHealth, publishMasked, publishShed } from '../observe/events.ts';
import { RetryBudget } from '../proxy/retry-budget.ts';
import { type Balancer, createBalancer, recordLatency } from './balance/index.ts';
import { type ConnectorOptions, socketState, timedConnector } from './connector.ts';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { CachingResolver } from './dns.ts';
import type { EndpointState } from './endpoint.ts';
import { H1Pool } from './h1/pool.ts';
import { ActiveHealthChecker } from './health/active.ts';
import { type FailureKind, OutlierDetector } from './health/outlier.ts';
import { AimdLimit } from './limit/adaptive.ts';
import { CircuitBreaker } from './limit/breaker.ts';
import { ConcurrencyLimiter } from './limit/concurrency.ts';
import { ANNOUNCED_KEEPALIVE_MARGIN_MS, ReuseGuard } from './reuse-guard.ts';

export type { EndpointState } from './endpoint.ts';

/**
 * A connect that fails (refused, timed out) takes the endpoint out at once for a short hold
 * that doubles while it keeps failing: nothing is gained by sending the next request to a
 * port where nothing listens. When the hold ends, a single request probes it (the others
 * keep waiting or go elsewhere), so an outage costs one try per hold, not one per request.
 * A refused connect is cheap to probe, so its hold stays short (a deploy comes back fast);
 * a connect timeout costs a whole timeout, so its hold grows long.
 */
const HOLD_BASE_MS = 100;
const HOLD_MAX_REFUSED_MS = 1000;
/**
 * While requests wait for the endpoint (wait_for_endpoint), a refused connect is probed at
 * least this often: they are released this soon after it is back, for one cheap refused
 * connect per interval while it is not.
 */
const HOLD_MAX_REFUSED_WAITING_MS = 250;
const HOLD_MAX_TIMEOUT_MS = 30_000;

/** A named group of endpoints that serve the same content, with the policies that protect them. */
export class UpstreamPool {
  readonly name: string;
  readonly config: Upstream;
  readonly endpoints: readonly EndpointState[];
  readonly balancer: Balancer;
  readonly budget: RetryBudget;
  readonly limiter: ConcurrencyLimiter | null;
  readonly outlier: OutlierDetector | null;
  readonly active: ActiveHealthChecker | null;
  /** Endpoints held out after a failed connect, with the length of their current hold (ms). */
  private readonly holds = new Map<EndpointState, number>();
  private readonly breakers = new Map<EndpointState, CircuitBreaker>();
  /** Reused by pick() to skip endpoints whose breaker refuses, without allocating per request. */
  private readonly refused = new Set<EndpointState>();
  private readonly waiters = new Set<() => void>();
  private wakeTimer: NodeJS.Timeout | null = null;
  /** When wakeTimer fires (performance.now() ms). */
  private wakeAt = Number.POSITIVE_INFINITY;
  private readonly events: Logger | null;
  private readonly global: Config;
  private readonly dns: CachingResolver | null;
  /** The TLS settings the connector takes: the CA file's certificates read once, here, not per connection. */
  private readonly tls: ConnectorOptions['tls'];
  private dnsTimer: NodeJS.Timeout | null = null;
  private closing = false;

  constructor(config: Upstream, global: Config, events: Logger | null) {
    this.name = config.name;
    this.config = config;
    this.events = events;
    this.global = global;
    // The configuration names the CA file (checked to hold PEM when it was loaded).
    this.tls = { ...config.tls, ca: config.tls.ca === null ? null : readFileSync(config.tls.ca, 'utf8') };
    this.dns = global.resolver
      ? new CachingResolver(global.resolver, config.dns, {
          onStale: (host, err) => {
            this.events?.warn({ pool: this.name, host, code: err.code }, `DNS failed (${err.code}): serving the last good answer`);
            publishMasked({ pool: this.name, kind: 'dns_stale', detail: `${host}: ${err.code}` });
          },
          onChange: (host, addrs) => {
            this.events?.info({ pool: this.name, host, addrs }, 'DNS answer changed: reconnecting');
            // Pooled connections still lead to the old address: new ones follow the new answer.
            for (const ep of this.endpoints) if (ep.config.host === host) this.replaceConnections(ep);
          },
        })
      : null;
    this.endpoints = config.endpoints.map((ep) => {
      const state: EndpointState = {
        pool: config.name,
        address: `${ep.host.includes(':') ? `[${ep.host}]` : ep.host}:${ep.port}`,
        config: ep,
        inflight: 0,
        ewmaMs: null,
        active: 'unknown',
        down: null,
        upSince: 0,
        keepAliveMs: config.keepAlive.idleMs,
        reuse: new ReuseGuard(socketState),
        dispatcher: null as unknown as LazyDispatcher,
        client: null as unknown as H1Pool,
      };
      this.connectionsFor(state);
      return state;
    });
    this.balancer = createBalancer(config.balance, { slowStartMs: config.slowStartMs });
    this.budget = new RetryBudget({ ratio: config.retry.budget.ratio, minRetriesPerSecond: config.retry.budget.minPerSecond });

    const { maxConcurrent, queue, queueTimeoutMs, adaptive } = config.limits;
    if (maxConcurrent !== null) {
      const total = maxConcurrent * this.endpoints.length;
      this.limiter = new ConcurrencyLimiter({
        limit: adaptive ? new AimdLimit({ initial: total, max: total }) : total,
        queue,
        queueTimeoutMs,
        name: `upstream "${config.name}"`,
      });
      this.limiter.onShed((reason, retryAfterSeconds) => publishShed({ pool: this.name, reason, retryAfterSeconds }));
    } else this.limiter = null;

    const passive = config.health.passive;
    this.outlier = passive ? new OutlierDetector(this.endpoints, passive) : null;
    this.outlier?.onEject((ep, reason, untilMs) => {
      this.log('warn', ep, `endpoint ejected: ${reason}`, { until: Math.round(untilMs) });
      publishEndpointHealth({ pool: this.name, endpoint: ep.address, state: 'down', by: 'passive', reason });
      publishMasked({ pool: this.name, kind: 'ejection', detail: `${ep.address}: ${reason}` });
    });
    this.outlier?.onReturn((ep) => {
      this.log('info', ep, 'endpoint returned after ejection');
      publishEndpointHealth({ pool: this.name, endpoint: ep.address, state: 'up', by: 'passive', reason: 'ejection ended' });
      this.wake();
    });

    const breaker = config.breaker;
    if (breaker) {
      for (const ep of this.endpoints) {
        const b = new CircuitBreaker(breaker);
        b.onOpen((reason, untilMs) => {
          if (ep.down === null || ep.down.by === 'breaker') ep.down = { by: 'breaker', detail: `circuit open: ${reason}`, since: performance.now(), until: untilMs };
          this.log('warn', ep, `circuit open: ${reason}`);
          publishEndpointHealth({ pool: this.name, endpoint: ep.address, state: 'down', by: 'breaker', reason });
          this.scheduleWake();
        });
        b.onClose(() => {
          if (ep.down?.by === 'breaker') ep.down = null;
          this.log('info', ep, 'circuit closed');
          publishEndpointHealth({ pool: this.name, endpoint: ep.address, state: 'up', by: 'breaker', reason: 'probes succeeded' });
          this.wake();
        });
        this.breakers.set(ep, b);
      }
    }

    const active = config.health.active;
    this.active = active ? new ActiveHealthChecker(this.endpoints, active) : null;
    this.active?.onDown((ep, detail) => {
      this.log('warn', ep, `endpoint down: ${detail}`);
      publishEndpointHealth({ pool: this.name, endpoint: ep.address, state: 'down', by: 'active', reason: detail });
    });
    this.active?.onUp((ep) => {
      // The check proved it answers: a connect hold would only delay it.
      this.holds.delete(ep);
      if (ep.down?.by === 'passive' && ep.down.detail.startsWith('connect')) ep.down = null;
      this.log('info', ep, 'endpoint up');
      publishEndpointHealth({ pool: this.name, endpoint: ep.address, state: 'up', by: 'active', reason: 'health check passed' });
      this.wake();
    });
    this.active?.start();
    this.refreshDns();
  }

  /**
   * Re-resolves the pool's host names as their answers expire, so a changed address is
   * noticed even while pooled connections to the old one keep being reused.
   */
  private refreshDns(): void {
    const dns = this.dns;
    const hosts = [...new Set(this.endpoints.map((ep) => ep.config.host).filter((h) => isIP(h) === 0))];
    if (!dns || hosts.length === 0 || this.closing) return;
    const next = Math.max(this.config.dns.minTtlMs, Math.min(...hosts.map((h) => dns.freshFor(h))));
    this.dnsTimer = setTimeout(() => {
      Promise.all(hosts.map((h) => dns.resolve(h).catch(() => null))).finally(() => this.refreshDns());
    }, next);
    this.dnsTimer.unref();
  }

  /**
   * The endpoint's two pools, replaced together: the gateway's own HTTP/1.1 pool for
   * requests (h1/pool.ts), and undici's for health checks and upgrades, made on its first
   * use (lazy-dispatcher.ts). Both open connections with timed connectors of the same options
   * (the gateway's reading plain TCP into its own buffer), so the reuse guard sees them all.
   */
  private connectionsFor(ep: EndpointState): void {
    const { config } = this;
    const origin = `${ep.config.protocol}//${ep.address}`;
    const connectOptions: ConnectorOptions = {
      timeoutMs: config.timeouts.connectMs,
      lookup: this.dns?.lookup ?? null,
      tls: this.tls,
      onCertificate: (socket) => publishPeerCertificate(this.name, ep.address, socket.getPeerCertificate()),
      guard: ep.reuse,
      onIdleClose: (idleMs) => {
        // Closed well before our own keep-alive limit, by a pool still in use (a replaced
        // or stopping one closes its idle sockets itself): the origin did it.
        if (ep.dispatcher === dispatcher && !this.closing && idleMs < ep.keepAliveMs - 50) {
          ep.reuse.closedAfterIdle(idleMs);
          this.learnIdle(ep, idleMs);
        }
      },
    };
    const connect = timedConnector(connectOptions);
    const maxResponseSize = this.global.limits.maxResponseBodyBytes;
    const keepAliveMs = ep.keepAliveMs;
    const dispatcher = new LazyDispatcher(() => new (loadPool())(origin, {
      connections: config.keepAlive.maxConnections,
      pipelining: 1,
      keepAliveTimeout: keepAliveMs,
      // undici also honours the origin's `Keep-Alive: timeout=`, minus this margin, so
      // the gateway gives up an idle connection before the origin closes it.
      keepAliveTimeoutThreshold: ANNOUNCED_KEEPALIVE_MARGIN_MS,
      headersTimeout: config.timeouts.responseHeaderMs,
      bodyTimeout: config.timeouts.idleMs,
      maxHeaderSize: this.global.limits.maxResponseHeaderBytes,
      // Counts every body; one announced too large is refused earlier, before its headers go out (attempt.ts).
      maxResponseSize: maxResponseSize ?? -1,
      strictContentLength: true,
      connect,
    }));
    ep.dispatcher = dispatcher;
    ep.client = new H1Pool({
      url: new URL(origin),
      connections: config.keepAlive.maxConnections,
      keepAliveMs: ep.keepAliveMs,
      announcedMarginMs: ANNOUNCED_KEEPALIVE_MARGIN_MS,
      maxHeaderBytes: this.global.limits.maxResponseHeaderBytes,
      maxResponseBytes: maxResponseSize,
      connect: timedConnector({ ...connectOptions, ownReads: true }),
    });
  }

  /**
   * The origin closed a pooled connection after `idleMs` of idle, without having said so
   * in `Keep-Alive: timeout=`: from now on the gateway gives up idle connections well
   * before that, so it never writes a request on a connection the origin is closing (the
   * keep-alive race). Connections already open drain; new ones use the learned limit.
   */
  private learnIdle(ep: EndpointState, idleMs: number): void {
    const target = Math.max(100, Math.floor(idleMs * 0.75));
    if (target >= ep.keepAliveMs) return;
    this.log('info', ep, `origin closes idle connections after ~${Math.round(idleMs)} ms: keep-alive lowered to ${target} ms`, {
      previousMs: ep.keepAliveMs,
    });
    ep.keepAliveMs = target;
    this.replaceConnections(ep);
  }

  private replaceConnections(ep: EndpointState): void {
    const old = ep.dispatcher;
    const oldClient = ep.client;
    this.connectionsFor(ep);
    old.close().catch(() => {});
    void oldClient.close();
  }

  /**
   * Call just before a try is dispatched to `ep`. A request that could not be sent again if
   * its connection turned out to be closing (`resendable` false: a POST, a streamed upload)
   * is never written on a connection idle longer than reuse has proven safe: those are
   * closed first, so the pool opens a fresh one (see ReuseGuard).
   */
  beforeDispatch(ep: EndpointState, resendable: boolean): void {
    if (!resendable) ep.reuse.retireIdle(ep.keepAliveMs, performance.now());
  }

  /**
   * The endpoint for the next try, among those available and not yet tried. An endpoint
   * whose connect hold just ended is handed out as a probe, to one request only.
   */
  pick(tried: ReadonlySet<EndpointState> | null, now: number): EndpointState | null {
    let ep = this.balancer.pick(this.endpoints, tried, now);
    if (ep !== null && this.breakers.size > 0) {
      // A breaker that refuses (open, or half-open with its probes out) takes its endpoint out of this pick.
      const refused = this.refused;
      refused.clear();
      if (tried) for (const t of tried) refused.add(t);
      while (ep !== null && !this.breakers.get(ep)!.allow(now)) {
        refused.add(ep);
        ep = this.balancer.pick(this.endpoints, refused, now);
      }
      refused.clear();
    }
    if (ep === null) return null;
    if (this.holds.has(ep) && ep.down !== null && ep.down.by === 'passive') {
      // Nobody else gets it until the probe has answered (or its connect timed out).
      ep.down = { ...ep.down, until: now + this.config.timeouts.connectMs + 1000 };
    }
    return ep;
  }

  /**
   * Panic mode (Envoy's panic threshold): when no endpoint is available and the request
   * may not wait, it goes to one that is held or ejected anyway, preferring one it has not
   * tried and the one closest to coming back. Its failure then reaches the client as what
   * it is (connection_refused, connection_timeout), not as a vaguer "no endpoint". An
   * endpoint that active health checks declare down, or whose circuit is open, is never used.
   */
  pickPanic(tried: ReadonlySet<EndpointState>): EndpointState | null {
    let best: EndpointState | null = null;
    for (const ep of this.endpoints) {
      // Failing checks and open circuits are explicit: fail fast rather than send anyway.
      if (ep.active === 'down' || ep.down?.by === 'breaker') continue;
      if (best === null) best = ep;
      else {
        const fresh = !tried.has(ep);
        const bestFresh = !tried.has(best);
        if (fresh !== bestFresh ? fresh : (ep.down?.since ?? 0) < (best.down?.since ?? 0)) best = ep;
      }
    }
    return best;
  }

  /** Response headers arrived from the endpoint. */
  reportResponse(ep: EndpointState, status: number, ttfbMs: number, now: number): void {
    recordLatency(ep, ttfbMs);
    if (this.holds.delete(ep)) {
      if (ep.down?.by === 'passive') ep.down = null;
      ep.upSince = now;
      this.log('info', ep, 'endpoint answers again');
      publishEndpointHealth({ pool: this.name, endpoint: ep.address, state: 'up', by: 'passive', reason: 'a request got through' });
      this.wake();
    }
    if (status >= 500) {
      this.outlier?.failure(ep, '5xx', now, `HTTP ${status}`);
      this.breakers.get(ep)?.failure(now);
    } else {
      this.outlier?.success(ep, now);
      this.breakers.get(ep)?.success(now);
    }
  }

  /**
   * A try against the endpoint failed; client-side failures and our own deadline are not its
   * fault. `idleMs`: how long the reused connection had been idle when the request went out.
   */
  reportFailure(ep: EndpointState, err: ProxyError, now: number, idleMs: number | null = null): void {
    // The route's deadline and the gateway's own size limit say nothing of the endpoint's health.
    if (err.source !== 'upstream' || err.detail === 'total_timeout' || err.type === 'http_response_body_size') return;
    this.breakers.get(ep)?.failure(now);
    // The keep-alive race itself: the origin had closed the connection we wrote on.
    if (err.retry === 'if-reused' && idleMs !== null) {
      ep.reuse.closedAfterIdle(idleMs);
      this.learnIdle(ep, idleMs);
    }
    if (err.stage === 'connect' || err.stage === 'dns') {
      this.hold(ep, err, now);
      return;
    }
    const kind: FailureKind | null =
      err.type === 'http_response_timeout' || err.type === 'connection_read_timeout'
        ? 'timeout'
        : err.type === 'connection_terminated' || err.type === 'http_response_incomplete'
          ? 'reset'
          : null;
    if (kind) this.outlier?.failure(ep, kind, now, err.type);
  }

  private hold(ep: EndpointState, err: ProxyError, now: number): void {
    const prev = this.holds.get(ep);
    const max =
      err.type === 'connection_timeout'
        ? HOLD_MAX_TIMEOUT_MS
        : err.type === 'connection_refused' && this.waiters.size > 0
          ? HOLD_MAX_REFUSED_WAITING_MS
          : HOLD_MAX_REFUSED_MS;
    const ms = prev !== undefined ? Math.min(prev * 2, max) : HOLD_BASE_MS;
    this.holds.set(ep, ms);
    // With active checks, give them a whole interval to declare it down (then they alone bring
    // it back); if they keep passing, a single request probes it after that.
    const checkMs = this.config.health.active?.intervalMs ?? 0;
    const until = now + Math.max(ms, checkMs);
    ep.down = { by: 'passive', detail: `connect failed: ${err.type}`, since: prev !== undefined ? (ep.down?.since ?? now) : now, until };
    if (prev === undefined) {
      this.log('warn', ep, `endpoint held: ${err.explain()}`);
      publishEndpointHealth({ pool: this.name, endpoint: ep.address, state: 'down', by: 'passive', reason: err.type });
    }
    this.scheduleWake();
  }

  /**
   * Waits until an endpoint may be available (one came back, or a hold ended so a probe
   * can go), or until `deadline` (performance.now() ms). Resolves whether it is worth
   * picking again.
   */
  waitForEndpoint(deadline: number, signal: AbortSignal): Promise<boolean> {
    const now = performance.now();
    if (now >= deadline || signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        signal.removeEventListener('abort', abort);
        resolve(ok);
      };
      const wake = (): void => done(true);
      const abort = (): void => done(false);
      const timer = setTimeout(() => done(false), deadline - now);
      this.waiters.add(wake);
      signal.addEventListener('abort', abort, { once: true });
      this.scheduleWake();
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Wakes the waiters when the earliest hold ends, so one of them can probe. */
  private scheduleWake(): void {
    if (this.waiters.size === 0) return;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const ep of this.endpoints) if (ep.down && ep.down.by !== 'active') next = Math.min(next, ep.down.until);
    if (!Number.isFinite(next)) return;
    // A hold that ends sooner than the timer (a failed probe replaces the probe's long
    // reservation with a short hold) moves the timer up: the waiters probe when it ends.
    if (this.wakeTimer !== null) {
      if (this.wakeAt <= next) return;
      clearTimeout(this.wakeTimer);
    }
    this.wakeAt = next;
    this.wakeTimer = setTimeout(
      () => {
        this.wakeTimer = null;
        this.wake();
        this.scheduleWake();
      },
      Math.max(1, next - now),
    );
    this.wakeTimer.unref();
  }

  /** Requests waited for an endpoint and got one: a failure the gateway absorbed. */
  noteWaited(ms: number): void {
    publishMasked({ pool: this.name, kind: 'waited', detail: `waited ${Math.round(ms)} ms for an endpoint` });
  }

  /** Every endpoint is out because its circuit is open. */
  allCircuitsOpen(): boolean {
    return this.breakers.size > 0 && this.endpoints.every((ep) => ep.down?.by === 'breaker');
  }

  /** Why no endpoint is available, for the error message. */
  downReasons(): string {
    return this.endpoints.map((ep) => `${ep.address}: ${ep.down?.detail ?? (ep.active === 'down' ? 'health check failing' : 'up')}`).join('; ');
  }

  private log(level: 'info' | 'warn', ep: EndpointState, msg: string, extra: Record<string, unknown> = {}): void {
    this.events?.[level]({ pool: this.name, endpoint: ep.address, ...extra }, msg);
  }

  async close(): Promise<void> {
    await this.stopPolicies();
    await Promise.all(this.endpoints.flatMap((e) => [e.dispatcher.close(), e.client.close()]));
  }

  async destroy(): Promise<void> {
    await this.stopPolicies();
    await Promise.all(this.endpoints.flatMap((e) => [e.dispatcher.destroy(), e.client.destroy()]));
  }

  private async stopPolicies(): Promise<void> {
    this.closing = true;
    if (this.dnsTimer) clearTimeout(this.dnsTimer);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wake();
    this.outlier?.close();
    this.limiter?.close();
    await this.active?.stop();
  }
}

export function buildPools(config: Config, events: Logger | null = null): Map<string, UpstreamPool> {
  const pools = new Map<string, UpstreamPool>();
  for (const [name, up] of Object.entries(config.upstreams)) pools.set(name, new UpstreamPool(up, config, events));
  return pools;
}
