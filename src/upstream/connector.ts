import type { Socket } from 'node:net';
import { buildConnector } from 'undici';
import type { LookupFunction } from './dns.ts';

/** How long the phases of opening one upstream connection took; attached to the socket. */
export type ConnectTimings = { dnsMs: number | null; connectMs: number; tlsMs: number | null };

const kTimings = Symbol('gatewise.connectTimings');
const kRequests = Symbol('gatewise.requestsOnSocket');

type TaggedSocket = Socket & { [kTimings]?: ConnectTimings; [kRequests]?: number };

export type ConnectorOptions = {
  readonly timeoutMs: number;
  readonly lookup: LookupFunction | null;
  readonly tls: { readonly verify: boolean; readonly ca: string | null; readonly servername: string | null };
};

/**
 * undici's connector, timed: the lookup, TCP and TLS phases of each new connection are
 * measured from the socket's own events, so the access log can say where the time went.
 */
export function timedConnector(opts: ConnectorOptions): buildConnector.connector {
  const base = buildConnector({
    timeout: opts.timeoutMs,
    rejectUnauthorized: opts.tls.verify,
    ...(opts.tls.ca ? { ca: opts.tls.ca } : {}),
    ...(opts.tls.servername ? { servername: opts.tls.servername } : {}),
    ...(opts.lookup ? { lookup: opts.lookup } : {}),
    // Happy Eyeballs: try every address the name has, not just the first.
    autoSelectFamily: true,
  } as buildConnector.BuildOptions);
  return (options, callback) => {
    const t0 = performance.now();
    let tLookup: number | null = null;
    let tConnect = 0;
    const socket = base(options, (err, s) => {
      if (err === null && s) {
        const now = performance.now();
        const connectAt = tConnect || now;
        (s as TaggedSocket)[kTimings] = {
          dnsMs: tLookup === null ? null : tLookup - t0,
          connectMs: connectAt - (tLookup ?? t0),
          tlsMs: options.protocol === 'https:' ? now - connectAt : null,
        };
        (s as TaggedSocket)[kRequests] = 0;
      }
      if (err === null && s) callback(null, s);
      else callback(err ?? new Error('connect failed'), null);
    }) as Socket | undefined;
    socket?.once('lookup', () => {
      tLookup = performance.now();
    });
    socket?.once('connect', () => {
      tConnect = performance.now();
    });
    return socket as never;
  };
}

/**
 * Counts the requests written on a socket: 0 before the first means a fresh connection.
 * Returns whether the socket had carried a request before (it was reused) and, for a
 * fresh one, how long opening it took.
 */
export function markRequestOnSocket(socket: Socket): { reused: boolean; timings: ConnectTimings | null } {
  const s = socket as TaggedSocket;
  const n = s[kRequests] ?? 0;
  s[kRequests] = n + 1;
  return { reused: n > 0, timings: n === 0 ? (s[kTimings] ?? null) : null };
}
