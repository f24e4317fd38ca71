import { Pool } from 'undici';
import type { Config, Upstream, Endpoint } from '../config/schema.ts';
import { timedConnector } from './connector.ts';
import { type LookupFunction, resolverLookup } from './dns.ts';

/** One origin server of a pool, with the connection pool that talks to it. */
export type EndpointState = {
  readonly pool: string;
  /** host:port, as the access log and the operator see it. */
  readonly address: string;
  readonly config: Endpoint;
  readonly dispatcher: Pool;
  /** Requests in flight right now: the selection policies of the resilience work use it. */
  inflight: number;
};

/** A named group of endpoints that serve the same content. */
export class UpstreamPool {
  readonly name: string;
  readonly config: Upstream;
  readonly endpoints: readonly EndpointState[];
  private next = 0;

  constructor(config: Upstream, global: Config, lookup: LookupFunction | null) {
    this.name = config.name;
    this.config = config;
    this.endpoints = config.endpoints.map((ep) => ({
      pool: config.name,
      address: `${ep.host}:${ep.port}`,
      config: ep,
      inflight: 0,
      dispatcher: new Pool(`${ep.protocol}//${ep.host}:${ep.port}`, {
        connections: config.keepAlive.maxConnections,
        pipelining: 1,
        keepAliveTimeout: config.keepAlive.idleMs,
        // undici also honours the origin's `Keep-Alive: timeout=`, minus this margin, so
        // the gateway gives up an idle connection before the origin closes it.
        keepAliveTimeoutThreshold: 1000,
        headersTimeout: config.timeouts.responseHeaderMs,
        bodyTimeout: config.timeouts.idleMs,
        maxHeaderSize: global.limits.maxResponseHeaderBytes,
        strictContentLength: true,
        connect: timedConnector({ timeoutMs: config.timeouts.connectMs, lookup, tls: config.tls }),
      }),
    }));
  }

  /**
   * The endpoint for the next try: round robin over primaries, skipping those already
   * tried for this request; backups only when no primary is left.
   */
  pick(tried: ReadonlySet<EndpointState> | null): EndpointState | null {
    const eps = this.endpoints;
    for (const backup of [false, true]) {
      for (let i = 0; i < eps.length; i++) {
        const ep = eps[(this.next + i) % eps.length]!;
        if (ep.config.backup !== backup || tried?.has(ep)) continue;
        this.next = (this.next + i + 1) % eps.length;
        return ep;
      }
    }
    return null;
  }

  async close(): Promise<void> {
    await Promise.all(this.endpoints.map((e) => e.dispatcher.close()));
  }

  async destroy(): Promise<void> {
    await Promise.all(this.endpoints.map((e) => e.dispatcher.destroy()));
  }
}

export function buildPools(config: Config): Map<string, UpstreamPool> {
  const lookup = config.resolver ? resolverLookup(config.resolver) : null;
  const pools = new Map<string, UpstreamPool>();
  for (const [name, up] of Object.entries(config.upstreams)) pools.set(name, new UpstreamPool(up, config, lookup));
  return pools;
}
