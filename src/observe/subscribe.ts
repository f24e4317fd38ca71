import type { Channel } from 'node:diagnostics_channel';
import { type CertificateEvent, certificateChannel } from './cert-events.ts';
import type { PoolsLike } from './endpoints.ts';
import {
  type AttemptEndEvent,
  channels,
  type EndpointHealthEvent,
  type MaskedEvent,
  type RequestEndEvent,
  type ShedEvent,
  type TlsFailureEvent,
} from './events.ts';

export type Handlers = {
  requestEnd?(e: RequestEndEvent): void;
  attemptEnd?(e: AttemptEndEvent): void;
  endpointHealth?(e: EndpointHealthEvent): void;
  shed?(e: ShedEvent): void;
  masked?(e: MaskedEvent): void;
  certificate?(e: CertificateEvent): void;
  /** Not filtered by pool: the handler checks the listener is its own. */
  tlsFailure?(e: TlsFailureEvent): void;
};

/**
 * Subscribes to the gateway's channels, keeping only the events of our own pools: channels
 * are process-wide, and tests (or an embedder) may run several gateways in one process.
 * A subscriber that throws would surface as an uncaught exception on the next tick and
 * take the gateway down, so each handler is fenced; onError reports what it caught.
 */
export function subscribe(pools: PoolsLike, h: Handlers, onError: (err: unknown) => void): () => void {
  const owns = (pool: string | null, endpoint: string | null): boolean => {
    if (pool === null) return true;
    const p = pools.get(pool);
    if (p === undefined) return false;
    if (endpoint === null) return true;
    for (const e of p.endpoints) if (e.address === endpoint) return true;
    return false;
  };
  const subs: [Channel, (m: unknown) => void][] = [];
  // Two accessors rather than one returning a pair: this runs twice for every request.
  const on = <E>(ch: Channel, handler: ((e: E) => void) | undefined, pool: (e: E) => string | null, endpoint: (e: E) => string | null) => {
    if (!handler) return;
    const fn = (m: unknown): void => {
      try {
        const e = m as E;
        if (owns(pool(e), endpoint(e))) handler(e);
      } catch (err) {
        onError(err);
      }
    };
    ch.subscribe(fn);
    subs.push([ch, fn]);
  };
  const none = (): null => null;
  on<RequestEndEvent>(channels.requestEnd, h.requestEnd, (e) => e.pool, (e) => e.upstream);
  on<AttemptEndEvent>(channels.attemptEnd, h.attemptEnd, (e) => e.pool, (e) => e.endpoint);
  on<EndpointHealthEvent>(channels.endpointHealth, h.endpointHealth, (e) => e.pool, (e) => e.endpoint);
  on<ShedEvent>(channels.shed, h.shed, (e) => e.pool, none);
  on<MaskedEvent>(channels.masked, h.masked, (e) => e.pool, none);
  on<CertificateEvent>(certificateChannel, h.certificate, (e) => e.pool, (e) => e.endpoint);
  on<TlsFailureEvent>(channels.tlsFailure, h.tlsFailure, none, none);
  return () => {
    for (const [ch, fn] of subs) ch.unsubscribe(fn);
  };
}
