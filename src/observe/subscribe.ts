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
    return p !== undefined && (endpoint === null || p.endpoints.some((e) => e.address === endpoint));
  };
  const subs: [Channel, (m: unknown) => void][] = [];
  const on = <E>(ch: Channel, handler: ((e: E) => void) | undefined, key: (e: E) => [string | null, string | null]) => {
    if (!handler) return;
    const fn = (m: unknown): void => {
      try {
        const e = m as E;
        const [pool, endpoint] = key(e);
        if (owns(pool, endpoint)) handler(e);
      } catch (err) {
        onError(err);
      }
    };
    ch.subscribe(fn);
    subs.push([ch, fn]);
  };
  on<RequestEndEvent>(channels.requestEnd, h.requestEnd, (e) => [e.pool, e.upstream]);
  on<AttemptEndEvent>(channels.attemptEnd, h.attemptEnd, (e) => [e.pool, e.endpoint]);
  on<EndpointHealthEvent>(channels.endpointHealth, h.endpointHealth, (e) => [e.pool, e.endpoint]);
  on<ShedEvent>(channels.shed, h.shed, (e) => [e.pool, null]);
  on<MaskedEvent>(channels.masked, h.masked, (e) => [e.pool, null]);
  on<CertificateEvent>(certificateChannel, h.certificate, (e) => [e.pool, e.endpoint]);
  on<TlsFailureEvent>(channels.tlsFailure, h.tlsFailure, () => [null, null]);
  return () => {
    for (const [ch, fn] of subs) ch.unsubscribe(fn);
  };
}
