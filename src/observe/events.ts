import diagnosticsChannel from 'node:diagnostics_channel';
import type { ProxyErrorType } from '../errors/types.ts';

// Named facts the gateway publishes as they happen. Metrics, the dashboard, alerts, the
// lab and tests subscribe to the same channels, so they can never disagree. Publishing
// costs nothing when no one listens (hasSubscribers is checked first).

/** A request is over (after its access-log line). */
export type RequestEndEvent = {
  readonly route: string | null;
  readonly pool: string | null;
  readonly method: string;
  readonly status: number;
  readonly durationMs: number;
  readonly attempts: number;
  readonly upstream: string | null;
  readonly errorType: ProxyErrorType | null;
  readonly errorDetail: string | null;
  readonly errorMessage: string | null;
  readonly requestId: string;
  readonly time: Date;
  /** On a cached route: hit, miss, revalidated or stale; null elsewhere. */
  readonly cache: 'hit' | 'miss' | 'revalidated' | 'stale' | null;
};

/** One try against one endpoint is over. */
export type AttemptEndEvent = {
  readonly pool: string;
  readonly endpoint: string;
  readonly attempt: number;
  readonly durationMs: number;
  readonly status: number | null;
  readonly errorType: ProxyErrorType | null;
  /** The loop will try again after this one. */
  readonly retried: boolean;
};

/** An endpoint stopped or started taking traffic. */
export type EndpointHealthEvent = {
  readonly pool: string;
  readonly endpoint: string;
  readonly state: 'up' | 'down';
  readonly by: 'active' | 'passive' | 'breaker';
  readonly reason: string;
};

/** A request was refused to protect an overloaded pool. */
export type ShedEvent = { readonly pool: string; readonly reason: string; readonly retryAfterSeconds: number };

/** A failure the gateway absorbed: a retry that helped, a stale DNS answer served, a request that waited for an endpoint. */
export type MaskedEvent = { readonly pool: string; readonly kind: 'retry' | 'dns_stale' | 'waited' | 'ejection' | 'stale_cache'; readonly detail: string };

/** A client's TLS handshake with one of our listeners failed (`host:port` as the listener is bound). */
export type TlsFailureEvent = { readonly listener: string; readonly reason: string };

export const channels = {
  requestEnd: diagnosticsChannel.channel('gatewise:request:end'),
  attemptEnd: diagnosticsChannel.channel('gatewise:attempt:end'),
  endpointHealth: diagnosticsChannel.channel('gatewise:endpoint:health'),
  shed: diagnosticsChannel.channel('gatewise:shed'),
  masked: diagnosticsChannel.channel('gatewise:masked'),
  tlsFailure: diagnosticsChannel.channel('gatewise:tls:failure'),
} as const;

export function publishTlsFailure(e: TlsFailureEvent): void {
  if (channels.tlsFailure.hasSubscribers) channels.tlsFailure.publish(e);
}

export function publishEndpointHealth(e: EndpointHealthEvent): void {
  if (channels.endpointHealth.hasSubscribers) channels.endpointHealth.publish(e);
}

export function publishShed(e: ShedEvent): void {
  if (channels.shed.hasSubscribers) channels.shed.publish(e);
}

export function publishMasked(e: MaskedEvent): void {
  if (channels.masked.hasSubscribers) channels.masked.publish(e);
}
