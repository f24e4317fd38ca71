import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { UpstreamConnection } from './connection.ts';

/** One request as the pool takes it (the members of undici's dispatch options the gateway uses). */
export type DispatchOptions = {
  readonly method: string;
  readonly path: string;
  /** [name, value, …], as the pipeline builds them (Host included). */
  readonly headers: readonly string[];
  readonly body: Buffer | Readable | null;
  /** From the end of the request to the response head; 0: none. */
  readonly headersTimeout: number;
  /** Silence in the middle of the response body; 0: none. */
  readonly bodyTimeout: number;
};

/**
 * One request's way through the pool: waiting, on a connection, answered. It is the
 * controller the handler gets (undici's DispatchController: abort, pause, resume), so the
 * gateway's Attempt drives this pool exactly as it would drive undici's.
 */
export class Exchange implements Dispatcher.DispatchController {
  readonly opts: DispatchOptions;
  readonly handler: Dispatcher.DispatchHandler;
  /** The connection carrying it, once it has one; the socket it was written on, for the attempt's facts. */
  conn: UpstreamConnection | null = null;
  private abortReason: Error | null = null;
  private isPaused = false;
  /** The handler has heard the end of this exchange (onResponseEnd or onResponseError). */
  settled = false;
  /** Told when the exchange is aborted while it waits for a connection. */
  onAbortWhileWaiting: ((ex: Exchange) => void) | null = null;

  constructor(opts: DispatchOptions, handler: Dispatcher.DispatchHandler) {
    this.opts = opts;
    this.handler = handler;
  }

  get aborted(): boolean {
    return this.abortReason !== null;
  }

  get paused(): boolean {
    return this.isPaused;
  }

  get reason(): Error | null {
    return this.abortReason;
  }

  /** The socket the request went out on (null until it has one). */
  get socket() {
    return this.conn?.socket ?? null;
  }

  abort(reason: Error): void {
    if (this.abortReason !== null || this.settled) return;
    this.abortReason = reason;
    if (this.conn !== null) this.conn.abortExchange(this, reason);
    else {
      this.onAbortWhileWaiting?.(this);
      this.error(reason);
    }
  }

  pause(): void {
    this.isPaused = true;
    this.conn?.pauseReading();
  }

  resume(): void {
    this.isPaused = false;
    this.conn?.resumeReading();
  }

  /** The exchange failed: the handler hears it once. */
  error(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.handler.onResponseError?.(this, err);
  }
}
