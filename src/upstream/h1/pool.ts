import type { Dispatcher } from 'undici';
import { type ConnectOptions, type Connector, errors } from '../undici-parts.ts';
import { type ConnectionOwner, UpstreamConnection } from './connection.ts';
import { type DispatchOptions, Exchange } from './exchange.ts';
import { TurnSweep } from '../../http1/turn-sweep.ts';

export type H1PoolOptions = {
  /** The endpoint, as http://host:port or https://host:port. */
  readonly url: URL;
  /** Connections at most; requests beyond wait for one, first come first served. */
  readonly connections: number;
  /** An idle connection is not reused past this long. */
  readonly keepAliveMs: number;
  /** How much sooner than an origin's `Keep-Alive: timeout=` its connection is given up. */
  readonly announcedMarginMs: number;
  readonly maxHeaderBytes: number;
  readonly maxResponseBytes: number | null;
  /** Opens a connection: undici's connector (DNS, TCP, TLS, Happy Eyeballs), timed (connector.ts). */
  readonly connect: Connector;
};

/** How often idle connections past their keep-alive are closed (reuse checks the limit itself, exactly). */
const SWEEP_MS = 1000;

/**
 * The gateway's HTTP/1.1 connection pool for one endpoint, on the request path: the same
 * dispatch(options, handler) contract as undici's Pool, so an Attempt drives either, with
 * one connection a request (no pipelining), the most recently used idle connection first
 * (the least likely to be closing), and none reused past its keep-alive, ours or the one
 * the origin announced less a margin. Health checks and upgrades stay on undici's Pool.
 */
export class H1Pool implements ConnectionOwner {
  readonly host: string;
  readonly maxHeaderBytes: number;
  readonly maxResponseBytes: number | null;
  private readonly opts: H1PoolOptions;
  private readonly conns = new Set<UpstreamConnection>();
  /** Idle connections, the most recently used last. */
  private readonly idle: UpstreamConnection[] = [];
  private readonly waiting: Exchange[] = [];
  /** Connections open or being opened. */
  private open = 0;
  private state: 'open' | 'closing' | 'destroyed' = 'open';
  private drained: (() => void) | null = null;
  private readonly sweep: NodeJS.Timeout;
  /** Idle connections that went idle together expire together: closed a few per turn (turn-sweep.ts). */
  private readonly sweeper = new TurnSweep<UpstreamConnection>((c, now) => {
    // A closed one stays listed until its socket's 'close' (closed()), and a reused one is busy: skipped.
    if (!c.usable || !this.expired(c, now)) return false;
    c.close();
    return true;
  });

  constructor(opts: H1PoolOptions) {
    this.opts = opts;
    this.host = opts.url.host;
    this.maxHeaderBytes = opts.maxHeaderBytes;
    this.maxResponseBytes = opts.maxResponseBytes;
    // The oldest first.
    this.sweep = setInterval(() => this.sweeper.start([...this.idle]), SWEEP_MS);
    this.sweep.unref();
  }

  dispatch(opts: DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const ex = new Exchange(opts, handler);
    if (this.state !== 'open') {
      ex.error(this.state === 'closing' ? new errors.ClientClosedError() : new errors.ClientDestroyedError());
      return false;
    }
    this.assign(ex);
    return true;
  }

  private assign(ex: Exchange): void {
    const now = performance.now();
    while (this.idle.length > 0) {
      const c = this.idle.pop()!;
      if (!c.usable) continue;
      if (this.expired(c, now)) {
        c.close();
        continue;
      }
      c.run(ex);
      return;
    }
    if (this.open < this.opts.connections) this.connect(ex);
    else {
      ex.onAbortWhileWaiting = this.dropWaiting;
      this.waiting.push(ex);
    }
  }

  private expired(c: UpstreamConnection, now: number): boolean {
    const announced = c.announcedIdleMs === null ? Number.POSITIVE_INFINITY : c.announcedIdleMs - this.opts.announcedMarginMs;
    return now - c.idleSince >= Math.min(this.opts.keepAliveMs, announced);
  }

  private readonly dropWaiting = (ex: Exchange): void => {
    const i = this.waiting.indexOf(ex);
    if (i >= 0) this.waiting.splice(i, 1);
  };

  private connect(ex: Exchange): void {
    this.open++;
    const { url } = this.opts;
    const https = url.protocol === 'https:';
    this.opts.connect(
      {
        hostname: url.hostname,
        host: url.host,
        protocol: url.protocol,
        port: url.port || (https ? '443' : '80'),
        servername: null,
        localAddress: null,
      } as unknown as ConnectOptions,
      (err, socket) => {
        if (err !== null || !socket) {
          this.open--;
          ex.error(err ?? new errors.SocketError('connect failed'));
          this.next();
          return;
        }
        if (this.state === 'destroyed') {
          this.open--;
          socket.destroy();
          ex.error(new errors.ClientDestroyedError());
          return;
        }
        const c = new UpstreamConnection(socket as never, this);
        this.conns.add(c);
        // Given up while it connected: the connection serves the next request instead.
        if (ex.settled) this.release(c);
        else c.run(ex);
      },
    );
  }

  /** ConnectionOwner: a complete exchange left its connection open. */
  release(c: UpstreamConnection): void {
    if (this.state === 'destroyed') {
      c.close();
      return;
    }
    c.idleSince = performance.now();
    const next = this.waiting.shift();
    if (next !== undefined) {
      next.onAbortWhileWaiting = null;
      // Not from inside the parse of the answer that freed it: bytes left in that read must
      // meet a connection with no request on it (which ends it), not the next request.
      process.nextTick(this.handOver, c, next);
      return;
    }
    if (this.state === 'closing') {
      c.close();
      return;
    }
    this.idle.push(c);
  }

  private readonly handOver = (c: UpstreamConnection, ex: Exchange): void => {
    if (ex.settled) this.release(c);
    else if (c.usable && this.state !== 'destroyed') c.run(ex);
    else this.assign(ex);
  };

  /** ConnectionOwner: a connection closed; a waiting request may open another. */
  closed(c: UpstreamConnection): void {
    if (!this.conns.delete(c)) return;
    this.open--;
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    this.next();
    this.checkDrained();
  }

  private next(): void {
    if (this.waiting.length > 0 && this.open < this.opts.connections && this.state !== 'destroyed') {
      const ex = this.waiting.shift()!;
      ex.onAbortWhileWaiting = null;
      this.connect(ex);
    }
  }

  private checkDrained(): void {
    if (this.state !== 'closing' || this.drained === null || this.waiting.length > 0) return;
    for (const c of this.conns) if (c.busy) return;
    for (const c of this.conns) c.close();
    this.drained();
    this.drained = null;
  }

  /** No new requests; those in flight or waiting finish, then every connection closes. */
  close(): Promise<void> {
    if (this.state !== 'open') return Promise.resolve();
    this.state = 'closing';
    clearInterval(this.sweep);
    this.sweeper.stop();
    for (const c of this.idle.splice(0)) c.close();
    return new Promise((resolve) => {
      this.drained = resolve;
      this.checkDrained();
      // Nothing open, nothing to wait for.
      if (this.open === 0) {
        this.drained?.();
        this.drained = null;
      }
    });
  }

  /** Every connection closes now; waiting requests fail. */
  destroy(): Promise<void> {
    this.state = 'destroyed';
    clearInterval(this.sweep);
    this.sweeper.stop();
    for (const ex of this.waiting.splice(0)) ex.error(new errors.ClientDestroyedError());
    for (const c of this.conns) c.close();
    this.drained?.();
    this.drained = null;
    return Promise.resolve();
  }
}
