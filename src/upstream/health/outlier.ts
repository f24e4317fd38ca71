import type { EndpointState } from '../endpoint.ts';
import { Listeners } from '../listeners.ts';

/**
 * Passive health (outlier detection): endpoints that fail real requests several times in
 * a row are taken out of the selection for a while, without waiting for an active check.
 * Follows Envoy's outlier detection (consecutive failures, base ejection time growing with
 * each repeated ejection, max_ejection_percent), with the growth doubling as asked.
 */
export type OutlierOptions = {
  /** Failures in a row that eject an endpoint. */
  readonly consecutiveFailures: number;
  /** First ejection; each repeated one doubles it. */
  readonly baseEjectionMs: number;
  readonly maxEjectionMs: number;
  /**
   * Never more than this share of the pool ejected at once, as Envoy's
   * max_ejection_percent: an ejection is allowed when (ejected + 1) / size ≤ this %.
   * Like Envoy without `always_eject_one_host`, no exception is made for the first one, so
   * at 50% a pool of one endpoint is never ejected (its failures then show as they are,
   * rather than as "no endpoint"); set 100 to allow it.
   */
  readonly maxEjectedPercent: number;
};

export const OUTLIER_DEFAULTS: OutlierOptions = {
  consecutiveFailures: 5,
  baseEjectionMs: 10_000,
  maxEjectionMs: 300_000,
  maxEjectedPercent: 50,
};

/** What went wrong with one attempt, as far as the endpoint's health is concerned. */
export type FailureKind = 'connect' | 'timeout' | '5xx' | 'reset';

const KIND_NAME: Record<FailureKind, readonly [one: string, many: string]> = {
  connect: ['connect failure', 'connect failures'],
  timeout: ['timeout', 'timeouts'],
  '5xx': ['5xx response', '5xx responses'],
  reset: ['reset', 'resets'],
};

type Track = {
  readonly ep: EndpointState;
  failures: number;
  connect: number;
  timeout: number;
  '5xx': number;
  reset: number;
  lastKind: FailureKind;
  lastDetail: string | null;
  /** Ejections so far in the current unhealthy period: the exponent of the ejection time. */
  ejections: number;
  /** When the current ejection ends; 0 when not ejected. */
  until: number;
  /** When it last came back; 0 if never ejected. */
  returnedAt: number;
  /** Whether onEjectSkipped was told about the current streak. */
  skipReported: boolean;
  timer: NodeJS.Timeout | null;
};

export type OutlierDeps = {
  /** Clock of the expiry timers, the same as the `now` passed to the methods. Default performance.now. */
  readonly now?: () => number;
  /**
   * Whether an ejection ends on its own timer (unref'd). Without timers an ejection ends
   * at the next success/failure/sweep after its end. Default true.
   */
  readonly timers?: boolean;
};

export class OutlierDetector {
  private readonly opts: OutlierOptions;
  private readonly tracks = new Map<EndpointState, Track>();
  private readonly clock: () => number;
  private readonly timers: boolean;
  private ejected = 0;
  private readonly ejectListeners = new Listeners<[ep: EndpointState, reason: string, untilMs: number, ejectionMs: number]>();
  private readonly returnListeners = new Listeners<[ep: EndpointState]>();
  private readonly skipListeners = new Listeners<[ep: EndpointState, reason: string]>();

  constructor(endpoints: readonly EndpointState[], opts: Partial<OutlierOptions> = {}, deps: OutlierDeps = {}) {
    this.opts = { ...OUTLIER_DEFAULTS, ...opts };
    this.clock = deps.now ?? performance.now.bind(performance);
    this.timers = deps.timers ?? true;
    for (const ep of endpoints) this.track(ep);
  }

  /** An endpoint taken out: `reason` is also in `ep.down.detail`; `untilMs` is on the `now` clock. */
  onEject(fn: (ep: EndpointState, reason: string, untilMs: number, ejectionMs: number) => void): () => void {
    return this.ejectListeners.add(fn);
  }

  /** An endpoint whose ejection ended: it takes traffic again, slow-starting from now. */
  onReturn(fn: (ep: EndpointState) => void): () => void {
    return this.returnListeners.add(fn);
  }

  /** An endpoint reached the threshold but stayed in because maxEjectedPercent was reached (once per streak). */
  onEjectSkipped(fn: (ep: EndpointState, reason: string) => void): () => void {
    return this.skipListeners.add(fn);
  }

  /** Endpoints ejected right now. */
  get ejectedCount(): number {
    return this.ejected;
  }

  /** An attempt on `ep` got a response that is not a failure (anything but a 5xx). */
  success(ep: EndpointState, now: number): void {
    const t = this.track(ep);
    if (t.until !== 0) {
      // An answer to a request sent before the ejection says nothing about now.
      if (now < t.until) return;
      this.restore(t, now);
    }
    if (t.failures !== 0) resetStreak(t);
  }

  /**
   * An attempt on `ep` failed. `detail` is the stable sub-reason (`connection_refused`,
   * `upstream_503`), shown in the ejection reason.
   */
  failure(ep: EndpointState, kind: FailureKind, now: number, detail?: string): void {
    const t = this.track(ep);
    if (t.until !== 0) {
      if (now < t.until) return;
      this.restore(t, now);
    }
    t.failures++;
    t[kind]++;
    t.lastKind = kind;
    t.lastDetail = detail ?? null;
    if (t.failures < this.opts.consecutiveFailures) return;

    if (this.ejected > 0) this.sweep(now);
    const size = this.tracks.size;
    const reason = describe(t);
    if (((this.ejected + 1) * 100) / size > this.opts.maxEjectedPercent) {
      if (!t.skipReported) {
        t.skipReported = true;
        this.skipListeners.emit(ep, reason);
      }
      return;
    }
    this.eject(t, reason, now);
  }

  /** Ends the ejections that are over by `now`; the timers call it, tests may too. */
  sweep(now: number): void {
    if (this.ejected === 0) return;
    for (const t of this.tracks.values()) if (t.until !== 0 && now >= t.until) this.restore(t, now);
  }

  /** Clears every timer; endpoints stay as they are. */
  close(): void {
    for (const t of this.tracks.values()) {
      if (t.timer !== null) clearTimeout(t.timer);
      t.timer = null;
    }
  }

  private eject(t: Track, reason: string, now: number): void {
    const o = this.opts;
    // Forgiven after a healthy stretch as long as the longest ejection.
    if (t.returnedAt !== 0 && now - t.returnedAt >= o.maxEjectionMs) t.ejections = 0;
    t.ejections++;
    const ms = Math.min(o.maxEjectionMs, o.baseEjectionMs * 2 ** (t.ejections - 1));
    const until = now + ms;
    t.until = until;
    this.ejected++;
    resetStreak(t);
    const ep = t.ep;
    ep.down = { by: 'passive', detail: reason, since: now, until };
    if (this.timers) this.arm(t, ms);
    this.ejectListeners.emit(ep, reason, until, ms);
  }

  private arm(t: Track, ms: number): void {
    t.timer = setTimeout(() => {
      t.timer = null;
      if (t.until === 0) return;
      const now = this.clock();
      // Timers count from the event loop's cached time, which can lag the clock: a timer
      // may fire a little before `until`, and then waits out the rest.
      if (now >= t.until) this.sweep(now);
      else this.arm(t, Math.ceil(t.until - now));
    }, ms);
    t.timer.unref();
  }

  private restore(t: Track, now: number): void {
    if (t.timer !== null) clearTimeout(t.timer);
    t.timer = null;
    t.until = 0;
    t.returnedAt = now;
    this.ejected--;
    const ep = t.ep;
    // An active check may have marked it down meanwhile: that verdict stands.
    if (ep.down?.by === 'passive') ep.down = null;
    ep.upSince = now;
    // Its old latency is stale: unknown makes the ewma policy probe it again.
    ep.ewmaMs = null;
    this.returnListeners.emit(ep);
  }

  private track(ep: EndpointState): Track {
    let t = this.tracks.get(ep);
    if (t === undefined) {
      t = {
        ep,
        failures: 0,
        connect: 0,
        timeout: 0,
        '5xx': 0,
        reset: 0,
        lastKind: 'connect',
        lastDetail: null,
        ejections: 0,
        until: 0,
        returnedAt: 0,
        skipReported: false,
        timer: null,
      };
      this.tracks.set(ep, t);
    }
    return t;
  }
}

function resetStreak(t: Track): void {
  t.failures = 0;
  t.connect = 0;
  t.timeout = 0;
  t['5xx'] = 0;
  t.reset = 0;
  t.lastDetail = null;
  t.skipReported = false;
}

/** "5 consecutive connect failures (connection_refused)", or the mix when kinds differ. */
function describe(t: Track): string {
  const n = t.failures;
  const last = t.lastDetail;
  if (t[t.lastKind] === n) {
    const [one, many] = KIND_NAME[t.lastKind];
    return `${n === 1 ? `1 ${one}` : `${n} consecutive ${many}`}${last ? ` (${last})` : ''}`;
  }
  const parts: string[] = [];
  for (const k of ['connect', 'timeout', '5xx', 'reset'] as const) if (t[k] > 0) parts.push(`${t[k]} ${k}`);
  return `${n} consecutive failures (${parts.join(', ')}${last ? `; last: ${last}` : ''})`;
}
