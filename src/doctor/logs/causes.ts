import type { Cause, ErrorCause, LogHop } from './types.ts';
import { CAUSES } from './types.ts';

type CauseInfo = {
  readonly hop: LogHop;
  /** What the user most likely saw when nothing else says so. */
  readonly status: number | null;
  readonly title: string;
};

// Titles name the failure the way an operator would say it in an incident channel.
export const CAUSE_INFO = {
  upstream_refused: { hop: 'upstream', status: 502, title: 'The upstream refused connections (nothing listening)' },
  upstream_timeout_connect: { hop: 'upstream', status: 504, title: 'Connections to the upstream timed out' },
  upstream_timeout_read: { hop: 'upstream', status: 504, title: 'The upstream answered too slowly' },
  upstream_reset: { hop: 'upstream', status: 502, title: 'The upstream reset connections' },
  upstream_closed_prematurely: {
    hop: 'upstream',
    status: 502,
    title: 'The upstream closed connections before answering',
  },
  no_live_upstreams: { hop: 'upstream', status: 502, title: 'No upstream server was available' },
  dns_failure: { hop: 'upstream', status: 502, title: "The upstream's name did not resolve" },
  header_too_big: { hop: 'upstream', status: 502, title: 'The upstream sent headers bigger than the proxy buffer' },
  invalid_upstream_response: { hop: 'upstream', status: 502, title: 'The upstream sent an invalid response' },
  tls_upstream_failure: { hop: 'upstream', status: 502, title: 'TLS to the upstream failed' },
  socket_missing: { hop: 'upstream', status: 502, title: 'The upstream unix socket does not exist' },
  socket_permission_denied: {
    hop: 'upstream',
    status: 502,
    title: 'The gateway may not open the upstream unix socket',
  },
  socket_backlog_full: { hop: 'upstream', status: 502, title: "The upstream socket's listen queue is full" },
  fpm_pool_exhausted: { hop: 'app', status: null, title: 'The PHP pool is exhausted' },
  fpm_request_terminated: {
    hop: 'app',
    status: 502,
    title: 'PHP-FPM killed requests at request_terminate_timeout',
  },
  app_crash: { hop: 'app', status: 502, title: 'Application processes crashed or were killed' },
  app_fatal_error: { hop: 'app', status: 500, title: 'The application failed with fatal errors' },
  script_not_found: { hop: 'app', status: 404, title: 'PHP-FPM could not find the script it was given' },
  client_closed: { hop: 'client', status: 499, title: 'Clients gave up before the answer' },
  firewall_blocked: { hop: 'upstream', status: 502, title: 'The network path to the upstream is blocked' },
  gateway_misconfig: { hop: 'gateway', status: 500, title: 'The gateway is misconfigured' },
} as const satisfies Record<ErrorCause, CauseInfo>;

export function isErrorCause(c: Cause): c is ErrorCause {
  return c !== 'not_an_error';
}

/** Dense index so per-minute counters can be typed arrays instead of maps. */
export const CAUSE_INDEX: ReadonlyMap<ErrorCause, number> = new Map(CAUSES.map((c, i) => [c, i]));
