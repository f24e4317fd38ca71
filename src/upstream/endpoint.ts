import type { Endpoint } from '../config/schema.ts';
import type { H1Pool } from './h1/pool.ts';
import type { LazyDispatcher } from './lazy-dispatcher.ts';
import type { ReuseGuard } from './reuse-guard.ts';

/** Why an endpoint takes no traffic right now; null when it does. */
export type DownReason =
  | { readonly by: 'active'; readonly detail: string; readonly since: number }
  | { readonly by: 'passive'; readonly detail: string; readonly since: number; readonly until: number }
  | { readonly by: 'breaker'; readonly detail: string; readonly since: number; readonly until: number };

/** One origin server of a pool: its connection pool and everything the policies know of it. */
export type EndpointState = {
  readonly pool: string;
  /** host:port, as the access log and the operator see it. */
  readonly address: string;
  readonly config: Endpoint;
  /**
   * Its connections, replaced (the old ones drained) when the connection settings must
   * change: a learned keep-alive, a new DNS answer. `client` carries the requests;
   * `dispatcher` (undici) the health checks and upgrades.
   */
  client: H1Pool;
  dispatcher: LazyDispatcher;
  /** Idle time after which the gateway gives up a pooled connection; lowered when the origin is seen closing sooner. */
  keepAliveMs: number;
  /** Its connections, and how long one may have been idle and still carry a request that must not be sent twice. */
  readonly reuse: ReuseGuard;
  /** Requests in flight right now. */
  inflight: number;
  /** Latency estimate (EWMA of time to response headers, ms); null before the first answer. */
  ewmaMs: number | null;
  /** Active health: 'unknown' until the first check settles it. */
  active: 'up' | 'down' | 'unknown';
  /** Passive ejection (outlier detection) or an open breaker, or an active check failing. */
  down: DownReason | null;
  /** When it last came back (for slow start), in performance.now() ms; 0 if never down. */
  upSince: number;
};

/** Whether the selection may send it a request now. */
export function isAvailable(ep: EndpointState, now: number): boolean {
  if (ep.active === 'down') return false;
  const d = ep.down;
  if (d === null) return true;
  return d.by !== 'active' && now >= d.until;
}
