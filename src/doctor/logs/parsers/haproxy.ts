// HAProxy httplog / tcplog lines and server state changes. The cause is in the
// termination state (doc/configuration.txt, "Session state at disconnection"):
// the first letter says who ended the session (C client, S server, P proxy,
// lowercase: a timeout struck), the second in which phase (C connect, H headers,
// D data, Q queue, R request).

import { CAUSE_INFO } from '../causes.ts';
import { clfTime } from '../timestamps.ts';
import type { ErrorCause, LineResult } from '../types.ts';
import type { LogParser } from './parser.ts';

const DATE = /\[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d\.\d{3}\] /;
const HTTP =
  /^(?:\S+\[\d+\]: )?\S+:\d+ \[(\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d\.\d{3})\] \S+ ([^\s/]+)\/(\S+) (?:-?\d+\/){4}\+?-?\d+ (-?\d+) \+?-?\d+ \S+ \S+ (\S\S)\S\S /;
const TCP =
  /^(?:\S+\[\d+\]: )?\S+:\d+ \[(\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d\.\d{3})\] \S+ ([^\s/]+)\/(\S+) -?\d+\/-?\d+\/\+?-?\d+ \+?\d+ (\S\S) /;
const SERVER_STATE = /Server ([^\s/]+\/\S+) is (DOWN|UP)(?:, reason: ([^,]+))?(?:, info: "([^"]*)")?/;

function sniff(line: string): boolean {
  return DATE.test(line) || line.includes(' is DOWN, reason: ') || line.includes('has no server available!');
}

/** Cause from the two-letter termination state; null for a normal end. */
function termination(state: string, server: string, status: number | null): ErrorCause | null {
  const who = state[0];
  const phase = state[1];
  switch (who) {
    case 'C':
    case 'c':
      return 'client_closed';
    case 'S':
      if (phase === 'C') return server === '<NOSRV>' ? 'no_live_upstreams' : 'upstream_refused';
      if (phase === 'H') return 'upstream_closed_prematurely';
      if (phase === 'D' || phase === 'L') return 'upstream_reset';
      if (phase === 'Q') return 'no_live_upstreams';
      return 'upstream_closed_prematurely';
    case 's':
      if (phase === 'C') return 'upstream_timeout_connect';
      if (phase === 'Q') return 'no_live_upstreams';
      return 'upstream_timeout_read';
    case 'P':
      // PR (403/400) is the proxy's own policy, not a failure.
      if (phase === 'H' || phase === 'D') return 'invalid_upstream_response';
      if (phase === 'C') return 'gateway_misconfig';
      return null;
    case 'R':
    case 'I':
      return 'gateway_misconfig';
    case 'D':
      return 'upstream_closed_prematurely';
    case '-':
      // A normal end with a 5xx: the server itself answered with an error.
      if (status !== null && status >= 500) return status === 503 ? 'no_live_upstreams' : 'app_fatal_error';
      return null;
    default:
      return null;
  }
}

function healthCause(reason: string, info: string): ErrorCause {
  if (reason.startsWith('Layer4 timeout')) return 'upstream_timeout_connect';
  if (reason.startsWith('Layer4 connection problem')) {
    if (info.includes('No route') || info.includes('unreachable')) return 'firewall_blocked';
    return 'upstream_refused';
  }
  if (reason.startsWith('Layer6')) return 'tls_upstream_failure';
  if (reason.startsWith('Layer7 timeout')) return 'upstream_timeout_read';
  if (reason.startsWith('Layer7 wrong status')) return 'app_fatal_error';
  if (reason.startsWith('Layer7 invalid response')) return 'invalid_upstream_response';
  return 'upstream_refused';
}

function classify(line: string): LineResult | null {
  const h = HTTP.exec(line);
  const t = h === null ? TCP.exec(line) : null;
  const m = h ?? t;
  if (m !== null) {
    const server = m[3] as string;
    const upstream = `${m[2]}/${server}`;
    const status = h === null ? null : Number(h[4]) < 0 ? null : Number(h[4]);
    const state = (h === null ? m[4] : m[5]) as string;
    const time = clfTime(m[1] as string);
    const cause = termination(state, server, status);
    if (cause === null) {
      return { format: 'haproxy', cause: 'not_an_error', hop: null, status, time, upstream };
    }
    return { format: 'haproxy', cause, hop: CAUSE_INFO[cause].hop, status, time, upstream };
  }
  const s = SERVER_STATE.exec(line);
  if (s !== null) {
    const upstream = s[1] as string;
    if (s[2] === 'UP') return { format: 'haproxy', cause: 'not_an_error', hop: null, status: null, time: null, upstream };
    const cause = healthCause(s[3] ?? '', s[4] ?? '');
    return { format: 'haproxy', cause, hop: CAUSE_INFO[cause].hop, status: null, time: null, upstream };
  }
  const none = line.indexOf(' has no server available!');
  if (none >= 0) {
    const name = line.slice(line.lastIndexOf(' ', none - 1) + 1, none).replace(/'/g, '');
    return { format: 'haproxy', cause: 'no_live_upstreams', hop: 'upstream', status: 503, time: null, upstream: name };
  }
  return null;
}

export const haproxyParser: LogParser = { format: 'haproxy', sniff, classify };
