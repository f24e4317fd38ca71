/**
 * The subscribers of one event of a strategy (an ejection, a shed request, a breaker that
 * opens), so that logs and metrics can each listen without the strategy knowing them.
 *
 * A subscriber that throws is reported as a process warning and the others still run: a
 * bug in a metric must not stop an ejection half-way, nor fail the request that caused it.
 */
export class Listeners<A extends unknown[]> {
  // Replaced, never mutated, so that unsubscribing during an emit cannot skip a subscriber.
  private fns: readonly ((...args: A) => void)[] = [];

  /** Subscribes; returns the function that unsubscribes. */
  add(fn: (...args: A) => void): () => void {
    this.fns = [...this.fns, fn];
    return () => {
      this.fns = this.fns.filter((f) => f !== fn);
    };
  }

  get size(): number {
    return this.fns.length;
  }

  emit(...args: A): void {
    for (const fn of this.fns) {
      try {
        fn(...args);
      } catch (err) {
        process.emitWarning(err instanceof Error ? err : new Error(String(err)), 'ListenerError');
      }
    }
  }
}
