import { Listeners } from '../listeners.ts';

export type BreakerState = 'closed' | 'open' | 'half-open';

/** A circuit breaker as the attempt loop sees it. */
export interface Breaker {
  /** Whether a request may go now; in half-open, true reserves one of the probe slots. */
  allow(now: number): boolean;
  success(now: number): void;
  failure(now: number): void;
  readonly state: BreakerState;
}

export type BreakerOptions = {
  /** Failures in a row that open it. Default 5. */
  readonly consecutiveFailures?: number;
  /** Share of failures over the window that opens it; 0 = off. Default 0.5. */
  readonly failureRatio?: number;
  /** Requests in the window before the ratio counts. Default 20. */
  readonly minRequests?: number;
  /** Sliding window of the ratio. Default 10000. */
  readonly windowMs?: number;
  /** Time open before probing. Default 5000. */
  readonly openMs?: number;
  /** Requests let through in half-open; all must succeed to close. Default 1. */
  readonly halfOpenProbes?: number;
};

const BUCKETS = 10;

/**
 * A per-endpoint circuit breaker (cockatiel's ConsecutiveBreaker and SamplingBreaker in
 * one): closed → open after N failures in a row or a failure ratio over a sliding window;
 * open → half-open after openMs, letting halfOpenProbes requests through; half-open →
 * closed when they all succeed, open again at the first failure.
 *
 * The transition to half-open happens in allow(), lazily, so the breaker needs no timer.
 * A probe whose result never comes (its request was cancelled) would hold its slot
 * forever: after another openMs in half-open the slots are handed out again.
 */
export class CircuitBreaker implements Breaker {
  private readonly consecutive: number;
  private readonly ratio: number;
  private readonly minRequests: number;
  private readonly bucketMs: number;
  private readonly openMs: number;
  private readonly probes: number;
  private current: BreakerState = 'closed';
  private streak = 0;
  /** Ring of per-bucket counts; `epoch` is the bucket number (now / bucketMs) of the newest. */
  private readonly ok = new Int32Array(BUCKETS);
  private readonly bad = new Int32Array(BUCKETS);
  private epoch = 0;
  private okSum = 0;
  private badSum = 0;
  private openedAt = 0;
  private halfOpenAt = 0;
  private probing = 0;
  private probed = 0;
  private readonly openListeners = new Listeners<[reason: string, untilMs: number]>();
  private readonly halfOpenListeners = new Listeners<[]>();
  private readonly closeListeners = new Listeners<[]>();

  constructor(opts: BreakerOptions = {}) {
    this.consecutive = opts.consecutiveFailures ?? 5;
    this.ratio = opts.failureRatio ?? 0.5;
    this.minRequests = opts.minRequests ?? 20;
    this.bucketMs = Math.max(1, (opts.windowMs ?? 10_000) / BUCKETS);
    this.openMs = opts.openMs ?? 5000;
    this.probes = opts.halfOpenProbes ?? 1;
  }

  /** Opened: `reason` says why; `untilMs` is when it will let a probe through. */
  onOpen(fn: (reason: string, untilMs: number) => void): () => void {
    return this.openListeners.add(fn);
  }

  onHalfOpen(fn: () => void): () => void {
    return this.halfOpenListeners.add(fn);
  }

  onClose(fn: () => void): () => void {
    return this.closeListeners.add(fn);
  }

  get state(): BreakerState {
    return this.current;
  }

  /** When an open breaker lets its first probe through. */
  get openUntil(): number {
    return this.current === 'open' ? this.openedAt + this.openMs : 0;
  }

  allow(now: number): boolean {
    switch (this.current) {
      case 'closed':
        return true;
      case 'open':
        if (now < this.openedAt + this.openMs) return false;
        this.current = 'half-open';
        this.halfOpenAt = now;
        this.probing = 0;
        this.probed = 0;
        this.halfOpenListeners.emit();
        break;
      case 'half-open':
        if (this.probing >= this.probes && now - this.halfOpenAt >= this.openMs) {
          this.halfOpenAt = now;
          this.probing = this.probed;
        }
        break;
    }
    if (this.probing >= this.probes) return false;
    this.probing++;
    return true;
  }

  success(now: number): void {
    if (this.current === 'half-open') {
      if (++this.probed >= this.probes) this.close(now);
      return;
    }
    // Results of requests sent before it opened say nothing about now.
    if (this.current === 'open') return;
    this.streak = 0;
    this.count(now, true);
  }

  failure(now: number): void {
    if (this.current === 'half-open') {
      this.open(now, 'a half-open probe failed');
      return;
    }
    if (this.current === 'open') return;
    this.streak++;
    this.count(now, false);
    if (this.streak >= this.consecutive) {
      this.open(now, `${this.streak} consecutive failures`);
      return;
    }
    const total = this.okSum + this.badSum;
    if (this.ratio > 0 && total >= this.minRequests && this.badSum >= this.ratio * total) {
      const pct = Math.round((this.badSum * 100) / total);
      this.open(now, `${pct}% of ${total} requests failed in the last ${Math.round((this.bucketMs * BUCKETS) / 1000)} s`);
    }
  }

  private open(now: number, reason: string): void {
    this.current = 'open';
    this.openedAt = now;
    this.streak = 0;
    this.openListeners.emit(reason, now + this.openMs);
  }

  private close(now: number): void {
    this.current = 'closed';
    this.streak = 0;
    this.ok.fill(0);
    this.bad.fill(0);
    this.okSum = 0;
    this.badSum = 0;
    this.epoch = Math.floor(now / this.bucketMs);
    this.closeListeners.emit();
  }

  private count(now: number, ok: boolean): void {
    const e = Math.floor(now / this.bucketMs);
    if (e !== this.epoch) {
      // Clear the buckets that slid out; after a long gap, all of them.
      const gap = Math.min(BUCKETS, Math.max(0, e - this.epoch));
      for (let k = 1; k <= gap; k++) {
        const i = (((this.epoch + k) % BUCKETS) + BUCKETS) % BUCKETS;
        this.okSum -= this.ok[i]!;
        this.badSum -= this.bad[i]!;
        this.ok[i] = 0;
        this.bad[i] = 0;
      }
      if (e > this.epoch) this.epoch = e;
    }
    const i = ((this.epoch % BUCKETS) + BUCKETS) % BUCKETS;
    if (ok) {
      this.ok[i]!++;
      this.okSum++;
    } else {
      this.bad[i]!++;
      this.badSum++;
    }
  }
}
