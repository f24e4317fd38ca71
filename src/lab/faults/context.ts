// What every fault receives and what every fault gives back to origin.ts.
import type { FaultOptions } from './options.ts';
import type { Timers } from './timers.ts';

/** What the origin saw. Counters only grow, except `open`; tests assert on them. */
export type OriginStats = {
  /** TCP connections accepted (for tls-bad-cert: before the handshake). */
  connections: number;
  /** Connections open right now. */
  open: number;
  /** Requests whose head the origin's HTTP parser accepted: a malformed one never counts. */
  requests: number;
  /** Request body bytes received, over all requests. */
  bodyBytes: number;
  /** Requests answered with 101 Switching Protocols. */
  upgrades: number;
  /** overload: requests reset because every worker was busy and the queue full. */
  rejected: number;
  /** overload: the longest the queue got. */
  peakQueue: number;
};

export function newStats(): OriginStats {
  return { connections: 0, open: 0, requests: 0, bodyBytes: 0, upgrades: 0, rejected: 0, peakQueue: 0 };
}

export type FaultContext = {
  readonly opts: FaultOptions;
  readonly stats: OriginStats;
  /** Cleared on every shutdown, so that no fault's timer outlives its sockets. */
  readonly timers: Timers;
};

export type FaultHandle = {
  readonly protocol: 'http' | 'https';
  /** Resolves with the bound port. */
  listen(host: string, port: number): Promise<number>;
  /** Stop listening and cut every open connection, as a crash would. May listen() again. */
  shutdown(): Promise<void>;
};
