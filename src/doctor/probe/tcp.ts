// The TCP hop, to one address. The outcomes are the ones an operator acts on differently:
// refused (an RST: the host is up, nothing listens), timed out (no answer at all: a
// firewall drops the SYN or the host is down), unreachable (no route: ICMP or the local
// routing table said so).
import net from 'node:net';
import { elapsed } from './clock.ts';
import { codedError, codeOf, probeFailure } from './failure.ts';
import type { TcpOutcome, TcpStep } from './types.ts';

export type TcpResult = { step: TcpStep; socket: net.Socket | null };

const OUTCOMES: Record<string, TcpOutcome> = {
  ECONNREFUSED: 'refused',
  ETIMEDOUT: 'timeout',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EADDRNOTAVAIL: 'unreachable',
};

export function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export function probeTcp(address: string, family: 4 | 6, port: number, connectTimeoutMs: number): Promise<TcpResult> {
  const endpoint = hostPort(address, port);
  const signal = AbortSignal.timeout(connectTimeoutMs);
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port, family });
    // Not net.connect's own `signal`: that one would also destroy the socket once connected.
    const onTimeout = () => socket.destroy(codedError('UND_ERR_CONNECT_TIMEOUT', 'connect timeout'));
    signal.addEventListener('abort', onTimeout, { once: true });
    const done = (outcome: TcpOutcome, err: unknown) => {
      signal.removeEventListener('abort', onTimeout);
      const ms = elapsed(started);
      const failure = err === null ? null : tcpFailure(outcome, err, endpoint, connectTimeoutMs);
      resolve({ step: { address, family, port, outcome, ms, failure }, socket: err === null ? socket : null });
    };
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      // Errors after this belong to the TLS or HTTP hop, which add their own listeners.
      socket.on('error', () => {});
      done('connected', null);
    });
    socket.once('error', (err) => {
      socket.destroy();
      done(signal.aborted ? 'timeout' : (OUTCOMES[codeOf(err)] ?? 'error'), err);
    });
  });
}

function tcpFailure(outcome: TcpOutcome, err: unknown, endpoint: string, limitMs: number) {
  const ctx = { progress: 'connecting' as const, endpoint, connectMs: limitMs, responseMs: 0 };
  switch (outcome) {
    case 'refused':
      return probeFailure(err, ctx, `connect to ${endpoint} refused: the host answered, but nothing listens on that port`);
    case 'timeout':
      return codeOf(err) === 'ETIMEDOUT'
        ? probeFailure(err, ctx, `connect to ${endpoint} timed out (the operating system gave up): no answer at all`)
        : probeFailure(err, ctx, `connect to ${endpoint} timed out after ${limitMs} ms: no answer at all, not even a refusal`, 'CONNECT_TIMEOUT');
    case 'unreachable':
      return probeFailure(err, ctx, `no route to ${endpoint} (${codeOf(err)})`);
    default:
      return probeFailure(err, ctx, `connect to ${endpoint} failed: ${(err as Error).message}`);
  }
}
