import { causeOf, isFailure } from './failures.ts';
import type { RequestEndEvent } from './events.ts';
import { Ring } from './ring.ts';

/** One second of traffic, as the dashboard charts it. */
export type Second = {
  /** Unix time, seconds. */
  readonly t: number;
  readonly requests: number;
  readonly failures: number;
  /** Failures by cause (Proxy-Status error type, or origin_5xx). */
  readonly causes: Readonly<Record<string, number>>;
  /** Failures the gateway absorbed, by kind (retry, dns_stale, stale_cache, waited, ejection), plus shed requests. */
  readonly masked: Readonly<Record<string, number>>;
  /** Latency percentiles of the requests that ended in this second, ms; null without requests. */
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
};

/** Samples kept per second for percentiles; beyond it, reservoir sampling keeps them fair. */
const SAMPLES_PER_SECOND = 512;
/** The rolling window of the percentile tiles. */
const RECENT_SECONDS = 60;

type Open = {
  t: number;
  requests: number;
  failures: number;
  causes: Record<string, number>;
  masked: Record<string, number>;
  samples: number[];
  seen: number;
};

function open(t: number): Open {
  return { t, requests: 0, failures: 0, causes: {}, masked: {}, samples: [], seen: 0 };
}

/**
 * A per-second time series over the last hour, kept in a bounded ring: the second in
 * progress accumulates, and is closed (with its percentiles) when the clock moves on.
 */
export class Timeline {
  private readonly closed: Ring<Second>;
  private readonly capacity: number;
  private readonly recent = new Ring<number[]>(RECENT_SECONDS);
  private cur: Open;
  /** The last second tick() handed out. */
  private ticked: number;
  private readonly now: () => number;

  constructor(opts: { seconds?: number; now?: () => number } = {}) {
    this.capacity = opts.seconds ?? 3600;
    this.closed = new Ring(this.capacity);
    this.now = opts.now ?? Date.now;
    this.cur = open(Math.floor(this.now() / 1000));
    this.ticked = this.cur.t - 1;
  }

  onRequest(e: RequestEndEvent): void {
    const b = this.roll();
    b.requests++;
    if (isFailure(e)) {
      b.failures++;
      const c = causeOf(e);
      b.causes[c] = (b.causes[c] ?? 0) + 1;
    }
    b.seen++;
    if (b.samples.length < SAMPLES_PER_SECOND) b.samples.push(e.durationMs);
    else {
      const i = Math.floor(Math.random() * b.seen);
      if (i < SAMPLES_PER_SECOND) b.samples[i] = e.durationMs;
    }
  }

  onMasked(kind: string): void {
    const b = this.roll();
    b.masked[kind] = (b.masked[kind] ?? 0) + 1;
  }

  /** Closes the seconds that have passed; returns those not returned by an earlier tick, oldest first. */
  tick(): Second[] {
    this.roll();
    const n = Math.min(this.cur.t - 1 - this.ticked, this.closed.size);
    this.ticked = this.cur.t - 1;
    return n <= 0 ? [] : this.closed.toArray().slice(-n);
  }

  series(): Second[] {
    this.roll();
    return this.closed.toArray();
  }

  /** Percentiles over the last minute, ms. */
  latency(): { p50: number | null; p95: number | null; p99: number | null; count: number; windowSeconds: number } {
    this.roll();
    const all = [...this.recent.toArray().flat(), ...this.cur.samples].sort((a, b) => a - b);
    return { p50: pct(all, 0.5), p95: pct(all, 0.95), p99: pct(all, 0.99), count: all.length, windowSeconds: RECENT_SECONDS };
  }

  private roll(): Open {
    const t = Math.floor(this.now() / 1000);
    if (t <= this.cur.t) return this.cur;
    this.close(this.cur);
    // Empty seconds are real points on the chart (a gap is zero traffic, not missing data).
    for (let s = Math.max(this.cur.t + 1, t - this.capacity); s < t; s++) this.close(open(s));
    this.cur = open(t);
    return this.cur;
  }

  private close(b: Open): void {
    const sorted = b.samples.sort((x, y) => x - y);
    this.recent.push(sorted);
    this.closed.push({
      t: b.t,
      requests: b.requests,
      failures: b.failures,
      causes: b.causes,
      masked: b.masked,
      p50: pct(sorted, 0.5),
      p95: pct(sorted, 0.95),
      p99: pct(sorted, 0.99),
    });
  }
}

/** Nearest-rank percentile of a sorted list, rounded to 0.1 ms. */
export function pct(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const v = sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
  return Math.round(v * 10) / 10;
}
