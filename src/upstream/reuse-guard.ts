import type { Socket } from 'node:net';

/**
 * Idle this long or less, a pooled connection is trusted for any request even before reuse
 * has proven anything: no origin closes idle connections this fast (and one that does is
 * caught by the learned keep-alive, which caps it).
 */
export const REUSE_FLOOR_MS = 200;
/** Only this share of the longest idle gap reuse has survived is trusted: the origin's idle timer races ours. */
export const REUSE_MARGIN = 0.75;
/**
 * The pools give up an idle connection this long before the end of the origin's announced
 * `Keep-Alive: timeout=` (the gateway's pool, and undici's as its keepAliveTimeoutThreshold, pool.ts).
 */
export const ANNOUNCED_KEEPALIVE_MARGIN_MS = 1000;

/** What the guard needs to know of a socket; the connector keeps it. */
export type SocketState = {
  /** Idle since this performance.now(), or null: busy, closing, or never used. */
  idleSince(socket: Socket): number | null;
  /** How long the origin said (`Keep-Alive: timeout=`) it keeps this socket open when idle, or null. */
  promisedIdleMs(socket: Socket): number | null;
  /** The gateway closes it itself: its close is not the origin's doing. */
  retire(socket: Socket): void;
};

/**
 * The keep-alive race without unsafe retries. An origin that closes idle connections
 * without saying so can close one just as a request is written on it; a request that
 * may be sent twice is then retried on a new connection, but one that may not (a POST)
 * is lost, since the origin may have acted on it (Go's net/http resends only when nothing
 * was written or the request is replayable). So such a request is never written on a
 * connection that has been idle longer than this endpoint has proven safe: the longest
 * idle gap after which a reused connection still got its answer (with a margin), capped by
 * the keep-alive limit. Before it goes out, longer-idle connections are closed and the pool
 * opens a fresh one (a socket it has destroyed is never written on again).
 */
export class ReuseGuard {
  private readonly sockets = new Set<Socket>();
  private readonly state: SocketState;
  /** Longest idle gap (ms) after which a reused connection of this endpoint still got a complete answer. */
  provenIdleMs = 0;
  /**
   * The origin closed an idle connection on its own before our limit: what it announces in
   * `Keep-Alive: timeout=` is no longer taken at its word.
   */
  promisesBroken = false;

  constructor(state: SocketState) {
    this.state = state;
  }

  add(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  /** A request written on a connection idle for `idleMs` got its whole answer. */
  answeredAfterIdle(idleMs: number): void {
    if (idleMs > this.provenIdleMs) this.provenIdleMs = idleMs;
  }

  /** The origin closed a connection idle for `idleMs`, or a request raced such a close: nothing that long is safe. */
  closedAfterIdle(idleMs: number): void {
    if (this.provenIdleMs >= idleMs) this.provenIdleMs = idleMs * REUSE_MARGIN;
    this.promisesBroken = true;
  }

  /** How long a connection may have been idle and still carry a request that must not be sent twice. */
  safeIdleMs(keepAliveMs: number): number {
    return Math.min(keepAliveMs, Math.max(REUSE_FLOOR_MS, this.provenIdleMs * REUSE_MARGIN));
  }

  /**
   * Closes the idle connections idle longer than safeIdleMs; returns how many. A connection
   * whose origin announced `Keep-Alive: timeout=N` is kept while it is at least
   * ANNOUNCED_KEEPALIVE_MARGIN_MS short of N (the pool gives it up there anyway), unless the
   * origin has broken such a promise.
   */
  retireIdle(keepAliveMs: number, now: number): number {
    const limit = this.safeIdleMs(keepAliveMs);
    let n = 0;
    for (const s of this.sockets) {
      const since = this.state.idleSince(s);
      if (since === null || now - since <= limit) continue;
      const promised = this.promisesBroken ? null : this.state.promisedIdleMs(s);
      if (promised !== null && now - since < promised - ANNOUNCED_KEEPALIVE_MARGIN_MS) continue;
      this.state.retire(s);
      n++;
    }
    return n;
  }

  get size(): number {
    return this.sockets.size;
  }
}
