import type { Pool } from 'undici';

/**
 * An endpoint's undici Pool, for its active health checks and WebSocket upgrades, made on
 * first use: a gateway with neither never loads undici's Client, whose HTTP/2 half requires
 * node:http2 (and node:tls with it) when it loads. Closed or destroyed before it was made,
 * it stays so: a later use gets a Pool already ended, which refuses as the closed one
 * would have, and no Pool is left open that nothing would close.
 */
export class LazyDispatcher {
  private readonly make: () => Pool;
  private pool: Pool | null = null;
  private ended: 'closed' | 'destroyed' | null = null;

  constructor(make: () => Pool) {
    this.make = make;
  }

  get(): Pool {
    if (this.pool === null) {
      this.pool = this.make();
      // Ended before its first use: a Pool that is ended too, which refuses each request as
      // the old one would have (a rejected request(), onError for dispatch()).
      if (this.ended === 'closed') void this.pool.close();
      else if (this.ended === 'destroyed') void this.pool.destroy();
    }
    return this.pool;
  }

  /** Drains the pool's connections; nothing to do if it was never made. */
  close(): Promise<void> {
    this.ended ??= 'closed';
    return this.pool === null ? Promise.resolve() : this.pool.close();
  }

  destroy(): Promise<void> {
    this.ended = 'destroyed';
    return this.pool === null ? Promise.resolve() : this.pool.destroy();
  }
}
