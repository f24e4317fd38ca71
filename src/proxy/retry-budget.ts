import { Listeners } from '../upstream/listeners.ts';

export type RetryBudgetOptions = {
  /** Retries in flight at most this share of the requests in flight. Default 0.2. */
  readonly ratio?: number;
  /** Retries allowed per second beyond the ratio, so a quiet gateway can still retry. Default 5. */
  readonly minRetriesPerSecond?: number;
};

export type RetryBudgetDeps = { readonly now?: () => number };

/**
 * A retry budget (Envoy's retry_budget, Linkerd's and Finagle's RetryBudget): retries
 * may add at most `ratio` to the load on the upstream, plus a small allowance of
 * `minRetriesPerSecond`. Per-request retry counts alone multiply load by the number of
 * tries exactly when the upstream is failing, which turns a brown-out into an outage.
 *
 * The ratio is over concurrency, as Envoy's budget_percent: retries in flight against
 * requests in flight. The allowance is a token bucket holding one second's worth, used
 * only by retries the ratio would refuse.
 *
 * Use: requestStarted()/requestFinished() around every proxied request; before a retry,
 * canRetry(), then retryStarted()/retryFinished() around that attempt.
 */
export class RetryBudget {
  private readonly ratio: number;
  private readonly perSecond: number;
  private readonly now: () => number;
  private requests = 0;
  private retries = 0;
  private tokens: number;
  private refilledAt: number;
  private readonly exhaustedListeners = new Listeners<[requests: number, retries: number]>();

  constructor(opts: RetryBudgetOptions = {}, deps: RetryBudgetDeps = {}) {
    this.ratio = opts.ratio ?? 0.2;
    this.perSecond = opts.minRetriesPerSecond ?? 5;
    this.now = deps.now ?? performance.now.bind(performance);
    this.tokens = this.perSecond;
    this.refilledAt = this.now();
  }

  /** A retry was refused (metrics; the attempt loop reports its own give-up). */
  onExhausted(fn: (requestsInFlight: number, retriesInFlight: number) => void): () => void {
    return this.exhaustedListeners.add(fn);
  }

  get requestsInFlight(): number {
    return this.requests;
  }

  get retriesInFlight(): number {
    return this.retries;
  }

  requestStarted(): void {
    this.requests++;
  }

  requestFinished(): void {
    if (this.requests > 0) this.requests--;
  }

  /** Whether one more retry fits the budget now; it does not reserve it: call retryStarted() to take it. */
  canRetry(): boolean {
    if (this.withinRatio() || this.refill() >= 1) return true;
    this.exhaustedListeners.emit(this.requests, this.retries);
    return false;
  }

  /** A retry goes out (after canRetry() said yes). */
  retryStarted(): void {
    if (!this.withinRatio() && this.refill() >= 1) this.tokens--;
    this.retries++;
  }

  retryFinished(): void {
    if (this.retries > 0) this.retries--;
  }

  private withinRatio(): boolean {
    return this.retries + 1 <= this.ratio * this.requests;
  }

  private refill(): number {
    const now = this.now();
    const t = this.tokens + ((now - this.refilledAt) * this.perSecond) / 1000;
    this.tokens = Math.min(t, this.perSecond);
    this.refilledAt = now;
    return this.tokens;
  }
}
