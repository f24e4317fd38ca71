import net from 'node:net';
import { classifyUpstreamError } from '../../errors/classify.ts';
import type { EndpointState } from '../endpoint.ts';
import { Listeners } from '../listeners.ts';

/** Active health checks: the gateway asks each endpoint itself, on its own timers, whether it serves. */
export type ActiveHealthOptions = {
  /** `http`: GET `path` through the endpoint's own connection pool; `tcp`: a connect only. */
  readonly type: 'http' | 'tcp';
  readonly path: string;
  readonly intervalMs: number;
  /** Each interval is stretched or shrunk by up to this share, so checks of many gateways spread out. */
  readonly jitter: number;
  readonly timeoutMs: number;
  /** Successes in a row that bring a down endpoint back. */
  readonly rise: number;
  /** Failures in a row that take an up endpoint out. */
  readonly fall: number;
  /** Statuses that count as healthy, both ends included. */
  readonly expectStatus: readonly [number, number];
  /** Host header of the check; null: the endpoint's own host:port. */
  readonly host: string | null;
};

export const ACTIVE_DEFAULTS: ActiveHealthOptions = {
  type: 'http',
  path: '/healthz',
  intervalMs: 5000,
  jitter: 0.1,
  timeoutMs: 1000,
  rise: 2,
  fall: 3,
  expectStatus: [200, 399],
  host: null,
};

export type ActiveDeps = {
  /** Clock of `upSince` and `down.since`. Default performance.now. */
  readonly now?: () => number;
  /** [0, 1), for the jitter. Default Math.random. */
  readonly random?: () => number;
};

type Probe = {
  readonly ep: EndpointState;
  ok: number;
  bad: number;
  timer: NodeJS.Timeout | null;
  /** The check under way, if any: checks of one endpoint never overlap. */
  running: Promise<void> | null;
};

const USER_AGENT = 'gatewise-health-check';

/**
 * Runs the checks of one pool's endpoints and keeps `ep.active` / `ep.down` up to date.
 *
 * `unknown` (the state before the first check) is settled by the first check either way,
 * as Envoy does at startup: the endpoint takes traffic meanwhile, so a dead one should be
 * known as soon as possible. From then on `fall` failures in a row mark it down and `rise`
 * successes bring it back, with `upSince` set so slow start ramps it up.
 */
export class ActiveHealthChecker {
  private readonly opts: ActiveHealthOptions;
  private readonly probes: Probe[];
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly headers: Record<string, string>;
  private running = false;
  /** Aborted by stop(), so a check in flight ends at once. */
  private stopping = new AbortController();
  private readonly downListeners = new Listeners<[ep: EndpointState, detail: string]>();
  private readonly upListeners = new Listeners<[ep: EndpointState]>();

  constructor(endpoints: readonly EndpointState[], opts: Partial<ActiveHealthOptions> = {}, deps: ActiveDeps = {}) {
    this.opts = { ...ACTIVE_DEFAULTS, ...opts };
    this.now = deps.now ?? performance.now.bind(performance);
    this.random = deps.random ?? Math.random;
    this.probes = endpoints.map((ep) => ({ ep, ok: 0, bad: 0, timer: null, running: null }));
    this.headers = { 'user-agent': USER_AGENT, ...(this.opts.host ? { host: this.opts.host } : {}) };
  }

  /** An endpoint marked down (`detail` is also in `ep.down.detail`). */
  onDown(fn: (ep: EndpointState, detail: string) => void): () => void {
    return this.downListeners.add(fn);
  }

  /** An endpoint marked up: after `rise` successes, or at its first check. */
  onUp(fn: (ep: EndpointState) => void): () => void {
    return this.upListeners.add(fn);
  }

  /** Starts the periodic checks; the first of each endpoint within one jittered slice of the interval. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const spread = this.opts.intervalMs * Math.min(1, this.opts.jitter);
    for (const p of this.probes) this.schedule(p, this.random() * spread);
  }

  /** Stops the timers and aborts the checks in flight; resolves when none is left. */
  async stop(): Promise<void> {
    this.running = false;
    // Checks started later (checkNow after stop) get a signal of their own.
    const stopping = this.stopping;
    this.stopping = new AbortController();
    stopping.abort();
    for (const p of this.probes) {
      if (p.timer !== null) clearTimeout(p.timer);
      p.timer = null;
    }
    await Promise.all(this.probes.map((p) => p.running));
  }

  /** Checks every endpoint once more, now (after any check already under way); for tests and the admin API. */
  checkNow(): Promise<void> {
    return Promise.all(this.probes.map((p) => this.run(p))).then(() => {});
  }

  private schedule(p: Probe, delayMs: number): void {
    p.timer = setTimeout(() => {
      p.timer = null;
      if (!this.running) return;
      const next = () => {
        if (this.running && p.timer === null) this.schedule(p, this.interval());
      };
      (p.running ?? this.run(p)).then(next, next);
    }, delayMs);
    p.timer.unref();
  }

  private interval(): number {
    const { intervalMs, jitter } = this.opts;
    return Math.max(1, intervalMs * (1 + jitter * (2 * this.random() - 1)));
  }

  private run(p: Probe): Promise<void> {
    const after = p.running ?? Promise.resolve();
    const next = after.then(() => this.checkOne(p));
    p.running = next;
    const clear = () => {
      if (p.running === next) p.running = null;
    };
    next.then(clear, clear);
    return next;
  }

  private async checkOne(p: Probe): Promise<void> {
    const stop = this.stopping.signal;
    const failure = this.opts.type === 'http' ? await this.checkHttp(p.ep, stop) : await this.checkTcp(p.ep, stop);
    if (failure === STOPPED) return;
    this.verdict(p, failure, this.now());
  }

  private verdict(p: Probe, failure: string | null, now: number): void {
    const ep = p.ep;
    if (failure === null) {
      p.bad = 0;
      p.ok++;
      if (ep.active === 'up' || (ep.active === 'down' && p.ok < this.opts.rise)) return;
      const wasDown = ep.active === 'down';
      ep.active = 'up';
      if (ep.down?.by === 'active') ep.down = null;
      if (wasDown) {
        ep.upSince = now;
        // Its latency from before the outage is stale: unknown makes the ewma policy probe it.
        ep.ewmaMs = null;
      }
      this.upListeners.emit(ep);
      return;
    }
    p.ok = 0;
    p.bad++;
    if (ep.active === 'down') {
      // Still down, perhaps for another reason now (refused, then 503 while it boots): show the latest.
      const d = ep.down;
      if (d?.by === 'active' && d.detail !== failure) ep.down = { by: 'active', detail: failure, since: d.since };
      return;
    }
    if (ep.active === 'up' && p.bad < this.opts.fall) return;
    ep.active = 'down';
    ep.down = { by: 'active', detail: failure, since: now };
    this.downListeners.emit(ep, failure);
  }

  /** null when healthy, else why not; STOPPED when stop() cut it short. */
  private checkHttp(ep: EndpointState, stop: AbortSignal): Promise<string | null | typeof STOPPED> {
    const { path, timeoutMs, expectStatus } = this.opts;
    return new Promise((resolve) => {
      const ac = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        ac.abort(new Error(`health check timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      const onStop = () => ac.abort(stop.reason);
      stop.addEventListener('abort', onStop, { once: true });
      let settled = false;
      const done = (result: string | null | typeof STOPPED) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        stop.removeEventListener('abort', onStop);
        ac.signal.removeEventListener('abort', onAbort);
        resolve(result);
      };
      // undici settles a request still waiting for its connection only when the connect
      // ends (its own connect timeout, 10 s): the abort is the verdict, and undici drops
      // the request as soon as it can.
      const onAbort = () => done(timedOut ? `timed out after ${timeoutMs} ms` : STOPPED);
      ac.signal.addEventListener('abort', onAbort, { once: true });
      ep.dispatcher
        .get()
        .request({ path, method: 'GET', headers: this.headers, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal: ac.signal })
        .then(async (res) => {
          // Read to the end so the connection goes back to the pool instead of being dropped.
          await res.body.dump();
          const s = res.statusCode;
          done(s >= expectStatus[0] && s <= expectStatus[1] ? null : `GET ${path}: ${s}`);
        })
        .catch((err: unknown) => done(describeError(err, ep, timeoutMs)));
    });
  }

  private checkTcp(ep: EndpointState, stop: AbortSignal): Promise<string | null | typeof STOPPED> {
    const { timeoutMs } = this.opts;
    return new Promise((resolve) => {
      const socket = net.connect({ host: ep.config.host, port: ep.config.port });
      const done = (result: string | null | typeof STOPPED) => {
        clearTimeout(timer);
        stop.removeEventListener('abort', onStop);
        socket.destroy();
        resolve(result);
      };
      const timer = setTimeout(() => done(`timed out after ${timeoutMs} ms`), timeoutMs);
      const onStop = () => done(STOPPED);
      stop.addEventListener('abort', onStop, { once: true });
      socket.once('connect', () => done(null));
      socket.once('error', (err) => done(describeError(err, ep, timeoutMs)));
    });
  }
}

const STOPPED = Symbol('stopped');

/** "connect refused", "upstream reset before response": the classifier's stable detail, in words. */
function describeError(err: unknown, ep: EndpointState, timeoutMs: number): string {
  const e = classifyUpstreamError(err, {
    progress: 'sent',
    hop: { pool: ep.pool, endpoint: ep.address, attempt: 0, reused: false },
    limits: { connectMs: timeoutMs, responseHeaderMs: timeoutMs, idleMs: timeoutMs },
  });
  return e.detail === 'unclassified_error' ? e.message : e.detail.replaceAll('_', ' ');
}
