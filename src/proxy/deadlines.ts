/**
 * The total deadlines of the requests in flight. Every request of a route has the same
 * limit, so in the order the requests arrive their deadlines come in order too: one list per
 * limit, kept in arrival order, and one timer for its head (requests are added in the order
 * they arrived, in the same tick as their arrival). A request that ends leaves the
 * list in O(1); no timer is made or cleared per request (a Node timer per request, made and
 * cleared, was ~1% of a proxied request's CPU in the bench's profile).
 */
export abstract class DeadlineEntry {
  /** performance.now() ms at which expire() runs; the list links, null when not in one. */
  deadlineAt = 0;
  deadlinePrev: DeadlineEntry | null = null;
  deadlineNext: DeadlineEntry | null = null;
  deadlineList: DeadlineList | null = null;

  /** The deadline passed. */
  abstract expire(): void;
}

export class DeadlineList {
  private head: DeadlineEntry | null = null;
  private tail: DeadlineEntry | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** When the timer fires (performance.now() ms). */
  private timerAt = 0;
  readonly limitMs: number;

  constructor(limitMs: number) {
    this.limitMs = limitMs;
  }

  /** The entry expires limitMs after `startMs` (performance.now() ms, not later than now). */
  add(e: DeadlineEntry, startMs: number): void {
    e.deadlineAt = startMs + this.limitMs;
    e.deadlineList = this;
    e.deadlinePrev = this.tail;
    e.deadlineNext = null;
    if (this.tail !== null) this.tail.deadlineNext = e;
    else this.head = e;
    this.tail = e;
    if (this.timer === null) this.arm(e.deadlineAt);
  }

  remove(e: DeadlineEntry): void {
    if (e.deadlineList !== this) return;
    const { deadlinePrev: prev, deadlineNext: next } = e;
    if (prev !== null) prev.deadlineNext = next;
    else this.head = next;
    if (next !== null) next.deadlinePrev = prev;
    else this.tail = prev;
    e.deadlinePrev = e.deadlineNext = null;
    e.deadlineList = null;
    // The timer stays, even with the list empty: when it fires it finds the new head, if
    // any, and waits for it. Cleared here, requests that do not overlap (a moderate load)
    // made and cleared a timer each.
  }

  private arm(at: number): void {
    this.timerAt = at;
    // A timer counts from the loop's cached time and may fire a little early: fire() checks.
    // Unreferenced: a timer left for an empty list must not hold a stopping process open
    // (a request in flight holds it with its client's socket).
    this.timer = setTimeout(this.fire, Math.max(1, Math.ceil(at - performance.now())));
    this.timer.unref();
  }

  private readonly fire = (): void => {
    this.timer = null;
    const now = performance.now();
    for (let e = this.head; e !== null && e.deadlineAt <= now; e = this.head) {
      this.remove(e);
      e.expire();
    }
    if (this.head !== null && this.timer === null) this.arm(this.head.deadlineAt);
  };

  /** For tests: when the timer is due, or null. */
  get nextFireAt(): number | null {
    return this.timer === null ? null : this.timerAt;
  }
}

/** One list per distinct limit. */
export class Deadlines {
  private readonly lists = new Map<number, DeadlineList>();

  add(e: DeadlineEntry, startMs: number, limitMs: number): void {
    let list = this.lists.get(limitMs);
    if (list === undefined) {
      list = new DeadlineList(limitMs);
      this.lists.set(limitMs, list);
    }
    list.add(e, startMs);
  }

  remove(e: DeadlineEntry): void {
    e.deadlineList?.remove(e);
  }
}
