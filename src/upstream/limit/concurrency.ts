import { Listeners } from '../listeners.ts';

/**
 * How many requests may be in flight at once: a fixed number, or one that adapts
 * (adaptive.ts). The limiter reads `current()` before every admission and reports every
 * finished request to `onSample`.
 */
export interface Limit {
  current(): number;
  /** One finished request: its latency, whether it was dropped (timeout, reset, 503), and the requests in flight with it. */
  onSample(latencyMs: number, dropped: boolean, inflight: number): void;
}

export type ShedReason = 'queue_full' | 'queue_timeout';

/** A request turned away to protect the endpoint; `retryAfterSeconds` is for the Retry-After header. */
export class Shed extends Error {
  override readonly name = 'Shed';
  readonly reason: ShedReason;
  readonly retryAfterSeconds: number;

  constructor(reason: ShedReason, retryAfterSeconds: number, message: string) {
    super(message);
    this.reason = reason;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export type ConcurrencyOptions = {
  /** Requests in flight at once. */
  readonly limit: number | Limit;
  /** Requests that may wait for a slot, first come first served; 0 = shed at once. Default 0. */
  readonly queue?: number;
  /** Longest wait in the queue. Default 1000. */
  readonly queueTimeoutMs?: number;
  /** Cap of Retry-After. Default 60. */
  readonly maxRetryAfterSeconds?: number;
  /** Memory of the drain-rate estimate (the time constant of its decay). Default 2000. */
  readonly drainWindowMs?: number;
  /** Names the limiter in Shed messages, e.g. `upstream "api"`. Default `the upstream`. */
  readonly name?: string;
};

export type ConcurrencyDeps = {
  /** Default performance.now. The queue timeout runs on real timers, measured with this clock. */
  readonly now?: () => number;
};

type Waiter = {
  resolve: (p: Permit) => void;
  reject: (e: unknown) => void;
  readonly deadline: number;
  readonly signal: AbortSignal | null;
  onAbort: (() => void) | null;
  done: boolean;
};

/** One admitted request. release() exactly once when it is over; further calls are ignored. */
export class Permit {
  private limiter: ConcurrencyLimiter | null;
  /** When it was admitted, on the limiter's clock. */
  readonly start: number;
  /** The limiter's list of permits in flight, oldest first (linked here: no allocation per request). */
  prev: Permit | null = null;
  next: Permit | null = null;

  constructor(limiter: ConcurrencyLimiter, start: number) {
    this.limiter = limiter;
    this.start = start;
  }

  /**
   * `dropped`: the request failed in a way that signals overload (timeout, reset, 503),
   * which makes an adaptive limit back off. `latencyMs`: what the adaptive limit compares
   * with its baseline (time to response headers); default: the time since admission.
   */
  release(dropped = false, latencyMs?: number): void {
    const l = this.limiter;
    if (l === null) return;
    this.limiter = null;
    l.released(this, dropped, latencyMs);
  }
}

// Timers may fire a fraction of a millisecond before the deadline measured on another clock.
const TIMER_SLACK_MS = 1;
const MAX_TIMER_MS = 2_147_483_647;
/** Weight of the newest release in the smoothed hold time. */
const HOLD_EWMA = 0.1;
/** Past this many slots the wait is estimated without walking the permits in flight. */
const WALK_MAX = 64;

/**
 * A concurrency limit with a bounded FIFO queue in front of it (HAProxy's `maxconn` +
 * `timeout queue`, nginx's `max_conns` + `queue`): an endpoint past its capacity serves
 * slower for everyone, so the excess waits here a little, then is shed with a 503 and a
 * Retry-After that says how long the queue actually takes to drain.
 *
 * The fast path (`tryAcquire`) allocates one Permit and no promise or closure; only
 * requests that queue pay for a promise.
 */
export class ConcurrencyLimiter {
  private readonly fixed: number;
  private readonly adaptive: Limit | null;
  private readonly queueMax: number;
  private readonly queueTimeoutMs: number;
  private readonly maxRetryAfter: number;
  private readonly tau: number;
  private readonly name: string;
  private readonly now: () => number;
  private active = 0;
  /** FIFO with lazy removal: entries before `head` are gone; aborted waiters are marked done. */
  private waiters: Waiter[] = [];
  private head = 0;
  private waiting = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Departures, exponentially decayed with time constant tau: ≈ rate × tau at a steady rate. */
  private departures = 0;
  private lastDeparture = 0;
  /** How long a permit is held (admission to release), smoothed; -1 before the first release. */
  private holdMs = -1;
  /** How far a hold strays from holdMs, smoothed (as TCP's RTT variance): the estimate's error. */
  private holdDevMs = 0;
  /** Permits in flight in the order they were admitted (the order they will most likely end). */
  private oldest: Permit | null = null;
  private newest: Permit | null = null;
  private readonly shedListeners = new Listeners<[reason: ShedReason, retryAfterSeconds: number]>();

  constructor(opts: ConcurrencyOptions, deps: ConcurrencyDeps = {}) {
    if (typeof opts.limit === 'number') {
      this.fixed = opts.limit;
      this.adaptive = null;
    } else {
      this.fixed = 0;
      this.adaptive = opts.limit;
    }
    this.queueMax = opts.queue ?? 0;
    this.queueTimeoutMs = opts.queueTimeoutMs ?? 1000;
    this.maxRetryAfter = opts.maxRetryAfterSeconds ?? 60;
    this.tau = opts.drainWindowMs ?? 2000;
    this.name = opts.name ?? 'the upstream';
    this.now = deps.now ?? performance.now.bind(performance);
  }

  /** A request shed: queue full, or waited queueTimeoutMs. */
  onShed(fn: (reason: ShedReason, retryAfterSeconds: number) => void): () => void {
    return this.shedListeners.add(fn);
  }

  get inflight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting;
  }

  get limit(): number {
    return this.adaptive === null ? this.fixed : this.adaptive.current();
  }

  /** A permit if a slot is free and nobody waits (no overtaking the queue); otherwise null. */
  tryAcquire(): Permit | null {
    if (this.waiting > 0 || this.active >= this.limit) return null;
    this.active++;
    return this.link(new Permit(this, this.now()));
  }

  private link(p: Permit): Permit {
    p.prev = this.newest;
    if (this.newest === null) this.oldest = p;
    else this.newest.next = p;
    this.newest = p;
    return p;
  }

  private unlink(p: Permit): void {
    if (p.prev === null) this.oldest = p.next;
    else p.prev.next = p.next;
    if (p.next === null) this.newest = p.prev;
    else p.next.prev = p.prev;
    p.prev = null;
    p.next = null;
  }

  /**
   * A permit now if a slot is free; else waits in the queue. Rejects with a Shed when the
   * queue is full or the wait exceeds queueTimeoutMs, and with `signal.reason` when the
   * caller gives up first (the client went away).
   */
  acquire(signal?: AbortSignal): Promise<Permit> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const p = this.tryAcquire();
    if (p !== null) return Promise.resolve(p);
    if (this.waiting >= this.queueMax) return Promise.reject(this.shed('queue_full'));
    // This one would get its slot only after a wait may last: it would only wait to be shed
    // (HAProxy's backend queue makes it wait the whole `timeout queue`).
    if (this.expectedWaitMs() > this.queueTimeoutMs) return Promise.reject(this.shed('queue_full', true));
    return new Promise<Permit>((resolve, reject) => {
      const w: Waiter = { resolve, reject, deadline: this.now() + this.queueTimeoutMs, signal: signal ?? null, onAbort: null, done: false };
      if (signal) {
        w.onAbort = () => {
          if (w.done) return;
          // Leaves a hole in the queue that shift() and the timer skip.
          this.settle(w);
          reject(signal.reason);
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.waiters.push(w);
      this.waiting++;
      this.arm();
    });
  }

  /**
   * How long a newcomer would wait for its slot; 0 before any permit was released. Each slot
   * frees when the request holding it has held it the smoothed hold time, then once every
   * hold time after that; the newcomer gets the slot freed after as many others as wait
   * ahead of it. Each hold may stray by the smoothed deviation, and those errors add up as
   * independent ones do (by the square root of how many). A request is queued only if this
   * is within queueTimeoutMs, so the queue holds what the endpoint serves in time and a wait
   * seldom ends in a shed. Counting what the requests in flight have already held, rather
   * than taking them as just begun, admits up to one more request per slot that comes in
   * time (in the lab's overload scenario, inside the run-to-run spread: 1,061 and 1,064
   * errors of 1,920, HAProxy 1,065 and 1,061).
   */
  expectedWaitMs(now: number = this.now()): number {
    const limit = this.limit;
    const hold = this.holdMs;
    if (hold < 0 || limit <= 0) return 0;
    const ahead = this.waiting;
    if (limit > WALK_MAX || this.active !== limit) {
      // Too many slots to walk, or a limit that just changed: as if those in flight had just begun.
      return ((ahead + 1) * (hold + this.holdDevMs)) / limit;
    }
    const rounds = Math.floor(ahead / limit);
    let p = this.oldest;
    for (let i = ahead % limit; i > 0 && p !== null; i--) p = p.next;
    const frees = p === null ? now + hold : Math.max(now, p.start + hold);
    return frees - now + rounds * hold + Math.sqrt(rounds + 1) * this.holdDevMs;
  }

  /** Departures per second, as measured: how fast the queue drains now. */
  drainRate(now: number = this.now()): number {
    if (this.departures === 0) return 0;
    return ((this.departures * Math.exp(-(now - this.lastDeparture) / this.tau)) / this.tau) * 1000;
  }

  /**
   * Seconds a newcomer would wait for a slot: the requests ahead of it, plus itself, at
   * the measured drain rate; rounded up, within [1, maxRetryAfterSeconds].
   */
  retryAfterSeconds(now: number = this.now()): number {
    const rate = this.drainRate(now);
    if (rate <= 0) return this.maxRetryAfter;
    const s = Math.ceil((this.waiting + 1) / rate);
    return Math.max(1, Math.min(s, this.maxRetryAfter));
  }

  /** Rejects every waiter with `reason` and stops the queue timer; for shutdown. */
  close(reason: unknown = new Error(`${this.name}: limiter closed`)): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (let i = this.head; i < this.waiters.length; i++) {
      const w = this.waiters[i]!;
      if (w.done) continue;
      this.settle(w);
      w.reject(reason);
    }
    this.waiters = [];
    this.head = 0;
    this.waiting = 0;
  }

  /** Called by Permit.release only. */
  released(p: Permit, dropped: boolean, latencyMs: number | undefined): void {
    const now = this.now();
    const inflight = this.active;
    this.active--;
    this.unlink(p);
    this.departures = this.departures * Math.exp(-(now - this.lastDeparture) / this.tau) + 1;
    this.lastDeparture = now;
    const held = now - p.start;
    if (this.holdMs < 0) this.holdMs = held;
    else {
      this.holdDevMs += (Math.abs(held - this.holdMs) - this.holdDevMs) * HOLD_EWMA;
      this.holdMs += (held - this.holdMs) * HOLD_EWMA;
    }
    if (this.adaptive !== null) this.adaptive.onSample(latencyMs ?? now - p.start, dropped, inflight);
    if (this.waiting > 0) this.drain(now);
  }

  private drain(now: number): void {
    const limit = this.limit;
    while (this.waiting > 0 && this.active < limit) {
      const w = this.shift();
      this.active++;
      w.resolve(this.link(new Permit(this, now)));
    }
  }

  /** The oldest live waiter, taken off the queue. Only call when waiting > 0. */
  private shift(): Waiter {
    for (;;) {
      const w = this.waiters[this.head]!;
      this.waiters[this.head] = undefined as never;
      this.head++;
      if (w.done) continue;
      this.settle(w);
      this.compact();
      return w;
    }
  }

  /** Marks a waiter as out of the queue, whichever way it left. */
  private settle(w: Waiter): void {
    w.done = true;
    this.waiting--;
    if (w.signal !== null && w.onAbort !== null) w.signal.removeEventListener('abort', w.onAbort);
    w.onAbort = null;
    if (this.waiting === 0 && this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private compact(): void {
    if (this.waiting === 0) {
      this.waiters = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.waiters.length) {
      this.waiters = this.waiters.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * One timer for the whole queue, set for the oldest waiter: every wait is equally long,
   * so deadlines come in queue order.
   */
  private arm(): void {
    if (this.timer !== null || this.waiting === 0) return;
    let i = this.head;
    while (this.waiters[i]!.done) i++;
    const w = this.waiters[i]!;
    // setTimeout takes at most 2^31 − 1 ms; a longer wait is re-armed when that fires.
    this.timer = setTimeout(this.expire, Math.min(MAX_TIMER_MS, Math.max(0, w.deadline - this.now())));
    this.timer.unref();
  }

  private readonly expire = (): void => {
    this.timer = null;
    const now = this.now() + TIMER_SLACK_MS;
    while (this.waiting > 0) {
      const w = this.waiters[this.head]!;
      if (w.done) {
        this.waiters[this.head] = undefined as never;
        this.head++;
        continue;
      }
      if (w.deadline > now) break;
      this.shift();
      w.reject(this.shed('queue_timeout'));
    }
    this.compact();
    this.arm();
  };

  private shed(reason: ShedReason, slow = false): Shed {
    const retryAfter = this.retryAfterSeconds();
    const limit = this.limit;
    const message =
      reason === 'queue_timeout'
        ? `${this.name} is at its limit of ${limit} requests in flight: waited ${this.queueTimeoutMs} ms in the queue without a slot`
        : slow
          ? `${this.name} is at its limit of ${limit} requests in flight and a request queued behind the ${this.waiting} waiting would get its slot only after about ${Math.round(this.expectedWaitMs())} ms, longer than the ${this.queueTimeoutMs} ms a wait may last`
          : `${this.name} is at its limit of ${limit} requests in flight and ${this.queueMax === 0 ? 'has no queue' : `its queue of ${this.queueMax} is full`}`;
    this.shedListeners.emit(reason, retryAfter);
    return new Shed(reason, retryAfter, message);
  }
}
