import { Listeners } from '../listeners.ts';
import type { Limit } from './concurrency.ts';

export type AimdOptions = {
  /** Default 20. */
  readonly initial?: number;
  /** Default 1. */
  readonly min?: number;
  /** Default 200. */
  readonly max?: number;
  /** A sample slower than baseline × tolerance counts as congestion. Default 2. */
  readonly tolerance?: number;
  /** Below this latency nothing counts as congestion: the noise of a fast origin. Default 5. */
  readonly minThresholdMs?: number;
  /** Multiplicative decrease. Default 0.9. */
  readonly backoffRatio?: number;
  /** The baseline is the minimum latency over the last one to two of these windows. Default 30000. */
  readonly baselineWindowMs?: number;
};

export type AimdDeps = { readonly now?: () => number };

/**
 * An AIMD concurrency limit (TCP's congestion avoidance, Netflix concurrency-limits'
 * AIMDLimit): when latency rises above the baseline (the minimum latency seen lately, ×
 * tolerance) or a request is dropped, the origin is queueing work internally, so the
 * limit is multiplied by backoffRatio; otherwise it grows by one per limit's worth of
 * good samples, i.e. by about one per round trip.
 *
 * Two guards keep it from overreacting:
 * - a sample only lowers the limit if its request started after the last decrease, since
 *   all requests in flight at that moment carry the same news (TCP backs off once per window);
 * - the limit only grows while at least half of it is used, so a quiet period does not
 *   leave a limit that was never tested.
 * The baseline forgets after one to two windows, so an origin that became slower for good
 * gets a new baseline instead of a limit stuck at the minimum.
 */
export class AimdLimit implements Limit {
  private readonly min: number;
  private readonly max: number;
  private readonly tolerance: number;
  private readonly minThresholdMs: number;
  private readonly backoffRatio: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  /** Fractional, so growth of 1/limit per sample accumulates. */
  private value: number;
  private lastDecrease = Number.NEGATIVE_INFINITY;
  private windowStart = Number.NaN;
  private minNow = Number.POSITIVE_INFINITY;
  private minPrev = Number.POSITIVE_INFINITY;
  private readonly changeListeners = new Listeners<[limit: number, previous: number]>();

  constructor(opts: AimdOptions = {}, deps: AimdDeps = {}) {
    this.min = opts.min ?? 1;
    this.max = opts.max ?? 200;
    this.value = Math.min(this.max, Math.max(this.min, opts.initial ?? 20));
    this.tolerance = opts.tolerance ?? 2;
    this.minThresholdMs = opts.minThresholdMs ?? 5;
    this.backoffRatio = opts.backoffRatio ?? 0.9;
    this.windowMs = opts.baselineWindowMs ?? 30_000;
    this.now = deps.now ?? performance.now.bind(performance);
  }

  /** The whole-number limit changed (metrics, logs). */
  onChange(fn: (limit: number, previous: number) => void): () => void {
    return this.changeListeners.add(fn);
  }

  current(): number {
    return Math.floor(this.value);
  }

  /** The minimum latency of the last one to two windows; Infinity before the first good sample. */
  get baselineMs(): number {
    return Math.min(this.minNow, this.minPrev);
  }

  onSample(latencyMs: number, dropped: boolean, inflight: number): void {
    const now = this.now();
    if (!(now - this.windowStart < this.windowMs)) {
      this.minPrev = this.minNow;
      this.minNow = Number.POSITIVE_INFINITY;
      this.windowStart = now;
    }
    const baseline = this.baselineMs;
    const congested = dropped || latencyMs > Math.max(baseline * this.tolerance, this.minThresholdMs);
    // A dropped request's latency (a refusal in 1 ms) says nothing about the origin's speed.
    if (!dropped && latencyMs < this.minNow) this.minNow = latencyMs;
    const before = Math.floor(this.value);
    if (congested) {
      if (now - latencyMs < this.lastDecrease) return;
      this.value = Math.max(this.min, this.value * this.backoffRatio);
      this.lastDecrease = now;
    } else if (inflight * 2 >= before) {
      this.value = Math.min(this.max, this.value + 1 / this.value);
    }
    const after = Math.floor(this.value);
    if (after !== before) this.changeListeners.emit(after, before);
  }
}
