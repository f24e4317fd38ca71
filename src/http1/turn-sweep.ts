/**
 * Connections a sweep ends per turn of the event loop; the rest wait for the turns after.
 * Ending one costs ~50 µs (the socket's destroy, its parser's release), and connections that
 * went idle together expire together: the 64 a closed loop leaves to the upstream pool held
 * the event loop 3.3-4.5 ms in one callback (4 s after the burst, bench/), 500 client
 * connections ~20 ms. Four a turn is ~0.1 ms a batch.
 */
export const ENDS_PER_TURN = 4;

/**
 * A sweep over a snapshot of connections that ends at most ENDS_PER_TURN of them per turn
 * of the event loop (`end` says whether it ended the one it was given) and goes on in the
 * next turn (setImmediate), so that requests arriving meanwhile are served between batches.
 */
export class TurnSweep<T> {
  private readonly end: (item: T, now: number) => boolean;
  private list: readonly T[] | null = null;
  private at = 0;
  private more: NodeJS.Immediate | null = null;

  constructor(end: (item: T, now: number) => boolean) {
    this.end = end;
  }

  /** Sweeps `items`, unless the sweep before is still going (it then finishes first). */
  start(items: readonly T[]): void {
    if (this.list !== null) return;
    this.list = items;
    this.at = 0;
    this.step();
  }

  /** Drops what is left of a sweep under way (the owner is closing). */
  stop(): void {
    if (this.more !== null) clearImmediate(this.more);
    this.more = null;
    this.list = null;
  }

  private readonly step = (): void => {
    this.more = null;
    const list = this.list;
    if (list === null) return;
    const now = performance.now();
    let ended = 0;
    while (this.at < list.length) {
      if (this.end(list[this.at++]!, now) && ++ended === ENDS_PER_TURN && this.at < list.length) {
        // Not unref'd: libuv lets the poll phase block while only unref'd immediates wait, so
        // an idle loop took the rest of a sweep 4 connections per timer wake-up. A sweep is
        // a bounded chain of turns, and the owner's close stops it.
        this.more = setImmediate(this.step);
        return;
      }
    }
    this.list = null;
  };
}
