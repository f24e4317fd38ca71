import diagnosticsChannel from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { type ConnectTimings, markRequestOnSocket, markSocketIdle } from './connector.ts';

/** What an attempt learns about the connection its request was written on. */
export type SocketFacts = {
  reused: boolean;
  timings: ConnectTimings | null;
  socket: Socket | null;
  /** How long a reused connection had been idle when this request was written on it. */
  idleMs: number | null;
};

let waiting: SocketFacts | null = null;
/** The socket each request in flight was written on. */
const onSocket = new WeakMap<object, Socket>();

// undici calls the handler's onRequestStart and then publishes sendHeaders for the same
// request, synchronously inside one function (client-h1 writeH1): so the socket that
// sendHeaders names belongs to the attempt that started last. This is how an attempt
// learns whether its connection was fresh or reused, without reaching into undici.
diagnosticsChannel.subscribe('undici:client:sendHeaders', (message) => {
  const { socket, request } = message as { socket: Socket; request: object };
  const facts = markRequestOnSocket(socket);
  onSocket.set(request, socket);
  if (waiting !== null) {
    waiting.reused = facts.reused;
    waiting.timings = facts.timings;
    waiting.idleMs = facts.idleMs;
    waiting.socket = socket;
    waiting = null;
  }
});

/** The facts of a request the gateway's own pool wrote on `socket` (it names its socket itself). */
export function socketFacts(facts: SocketFacts, socket: Socket | null): void {
  if (socket === null) return;
  const f = markRequestOnSocket(socket);
  facts.reused = f.reused;
  facts.timings = f.timings;
  facts.idleMs = f.idleMs;
  facts.socket = socket;
}

/** Call from onRequestStart of a request on undici's pool: the next sendHeaders fills these facts in. */
export function awaitSocketFacts(facts: SocketFacts): void {
  waiting = facts;
}

// A complete response leaves its socket idle in undici's pool, whoever sent the request
// (an attempt, or an active health check): from then on its idle time counts.
diagnosticsChannel.subscribe('undici:request:trailers', (message) => {
  const { request } = message as { request: object };
  const socket = onSocket.get(request);
  if (socket !== undefined) {
    onSocket.delete(request);
    markSocketIdle(socket);
  }
});
