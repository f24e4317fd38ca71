import type { Pool } from 'undici';

/**
 * An endpoint's undici Pool, for its active health checks and WebSocket upgrades, made on
 * first use: a gateway with neither never loads undici's Client, whose HTTP/2 half requires
 * node:http2 (and node:tls with it) when it loads.
 */
export class LazyDispatcher {
  private readonly make: () => Pool;
  private pool: Pool | null = null;

  constructor(make: () => Pool) {
    this.make = make;
  }

  get(): Pool {
    this.pool ??= this.make();
    return this.pool;
  }

  /** Drains the pool's connections; nothing to do if it was never made. */
  close(): Promise<void> {
    return this.pool === null ? Promise.resolve() : this.pool.close();
  }

  destroy(): Promise<void> {
    return this.pool === null ? Promise.resolve() : this.pool.destroy();
  }
}
