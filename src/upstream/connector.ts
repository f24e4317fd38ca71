import { isIP, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { buildConnector, type Connector, type ConnectorBuildOptions } from './undici-parts.ts';
import type { LookupFunction } from './dns.ts';
import { ANNOUNCED_KEEPALIVE_MARGIN_MS, type ReuseGuard, type SocketState } from './reuse-guard.ts';

/** How long the phases of opening one upstream connection took; attached to the socket. */
export type ConnectTimings = { dnsMs: number | null; connectMs: number; tlsMs: number | null };

const kTimings = Symbol('gatewise.connectTimings');
const kRequests = Symbol('gatewise.requestsOnSocket');
const kBusy = Symbol('gatewise.socketBusy');
const kIdleSince = Symbol('gatewise.socketIdleSince');
const kClosing = Symbol('gatewise.socketClosing');
const kGap = Symbol('gatewise.socketIdleGap');
const kGuard = Symbol('gatewise.socketReuseGuard');
const kPromised = Symbol('gatewise.socketPromisedIdle');
const kReads = Symbol('gatewise.socketReads');
const kReader = Symbol('gatewise.socketReader');

/** What parses the reads of a socket opened with the connector's own read buffer. */
export type SocketReader = { onRead(buf: Buffer, n: number): void };

type TaggedSocket = Socket & {
  [kTimings]?: ConnectTimings;
  [kRequests]?: number;
  [kBusy]?: boolean;
  /** When its last answer ended (performance.now()); NONE before the first. */
  [kIdleSince]?: number;
  [kClosing]?: boolean;
  /** How long it had been idle when the request now on it was written (reused only). */
  [kGap]?: number | null;
  [kGuard]?: ReuseGuard | undefined;
  /** How long the origin said (Keep-Alive: timeout=) it keeps this connection open when idle; NONE: it said nothing. */
  [kPromised]?: number;
  /** OWN_READS: its reads land in READ_BUFFER and go to its reader; STREAM_READS: it is read as a stream. */
  [kReads]?: number;
  [kReader]?: SocketReader | null;
};

const STREAM_READS = 0;
const OWN_READS = 1;

/**
 * The one buffer every plain-TCP socket of the gateway's HTTP/1.1 pools reads into (Node's
 * `onread`). Each read is parsed, and what is kept of it copied, before libuv makes the next,
 * so one buffer serves them all. Read as a stream instead, every read, or (read by llhttp in
 * C++) every piece of a body, is a new ArrayBuffer, and V8 frees those during the next
 * scavenge, on the event loop: at 5,000 requests/s that was ~0.5 ms of each ~0.9 ms
 * scavenge (--trace-gc-nvp: scavenge.sweep_array_buffers), the pause behind the
 * gateway's 99th-percentile latency (docs/benchmarks.md).
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

function onOwnRead(this: TaggedSocket, n: number, buf: Uint8Array): boolean {
  const reader = this[kReader];
  // Bytes before any request was written: nothing the origin says now can belong to one.
  if (reader == null) {
    this.destroy();
    return false;
  }
  reader.onRead(buf as Buffer, n);
  return true;
}

/** No such time: not idle yet, or no keep-alive announced. Numbers, not undefined, keep the field a number. */
const NONE = -1;

/**
 * Every tag a new socket carries, set at once in one order, with values of the types they
 * keep (numbers stay numbers): every upstream socket then has one shape, and V8's code for
 * the request path stays valid. A tag added later, or a number replaced by undefined, gave
 * the sockets a new shape at the first connection that closed, and threw away the compiled
 * request path mid-serving. kClosing is written twice for the same reason as in
 * jit-tiers.ts: a field written only once is compiled as a constant.
 */
function tagSocket(s: TaggedSocket, timings: ConnectTimings, guard: ReuseGuard | undefined, reads: number): void {
  s[kTimings] = timings;
  s[kRequests] = 0;
  s[kBusy] = false;
  s[kIdleSince] = NONE;
  s[kClosing] = true;
  s[kClosing] = false;
  s[kGap] = null;
  s[kGuard] = guard;
  s[kPromised] = NONE;
  s[kReads] = reads;
  s[kReader] = null;
}

/** Whether the socket's reads go to a SocketReader (setSocketReader) rather than to stream listeners. */
export function readsOwnBuffer(socket: Socket): boolean {
  return (socket as TaggedSocket)[kReads] === OWN_READS;
}

/** Who parses what a socket opened with own reads receives (null once it stops listening). */
export function setSocketReader(socket: Socket, reader: SocketReader | null): void {
  (socket as TaggedSocket)[kReader] = reader;
}

export type ConnectorOptions = {
  readonly timeoutMs: number;
  readonly lookup: LookupFunction | null;
  /** ca: the certificates (PEM text) to trust instead of the system's; null: the system's. */
  readonly tls: { readonly verify: boolean; readonly ca: string | null; readonly servername: string | null };
  /**
   * The origin closed a connection that had been idle this long: how the gateway learns an
   * origin's keep-alive timeout when it does not announce one.
   */
  readonly onIdleClose?: (idleMs: number) => void;
  /** A TLS handshake completed: the origin's certificate, for the expiry alerts. */
  readonly onCertificate?: (socket: TLSSocket) => void;
  /** Keeps the endpoint's connections, so idle ones can be closed before a request that must not be sent twice. */
  readonly guard?: ReuseGuard;
  /**
   * Plain TCP connections read into the connector's own buffer, their data handed to the
   * reader set with setSocketReader instead of emitted as 'data' (the gateway's HTTP/1.1
   * pool; undici's reads its sockets as streams). TLS connections are streams either way.
   */
  readonly ownReads?: boolean;
};

/**
 * undici's connector, timed: the lookup, TCP and TLS phases of each new connection are
 * measured from the socket's own events, so the access log can say where the time went.
 */
export function timedConnector(opts: ConnectorOptions): Connector {
  const common = {
    // undici's own connect timer runs on its coarse timer wheel (it fired 230 ms late for a
    // 500 ms limit); ours below is exact, theirs only a backstop.
    timeout: opts.timeoutMs * 2 + 1000,
    rejectUnauthorized: opts.tls.verify,
    ...(opts.tls.ca ? { ca: opts.tls.ca } : {}),
    ...(opts.tls.servername ? { servername: opts.tls.servername } : {}),
    ...(opts.lookup ? { lookup: opts.lookup } : {}),
    // Happy Eyeballs: try every address the name has, not just the first.
    autoSelectFamily: true,
  };
  const base = buildConnector(common as ConnectorBuildOptions);
  // undici hands its options on to net.connect, onread with them.
  const own = opts.ownReads === true ? buildConnector({ ...common, onread: { buffer: READ_BUFFER, callback: onOwnRead } } as ConnectorBuildOptions) : null;
  return (options, callback) => {
    const connect = own !== null && options.protocol !== 'https:' ? own : base;
    const t0 = performance.now();
    let tLookup: number | null = null;
    let tConnect = 0;
    let timer: NodeJS.Timeout | null = null;
    const socket = connect(options, (err, s) => {
      if (timer) clearTimeout(timer);
      if (err === null && s) {
        const now = performance.now();
        const connectAt = tConnect || now;
        tagSocket(
          s as TaggedSocket,
          {
            dnsMs: tLookup === null ? null : tLookup - t0,
            connectMs: connectAt - (tLookup ?? t0),
            tlsMs: options.protocol === 'https:' ? now - connectAt : null,
          },
          opts.guard,
          connect === own ? OWN_READS : STREAM_READS,
        );
        opts.guard?.add(s);
        if (options.protocol === 'https:') opts.onCertificate?.(s as TLSSocket);
        const onIdleClose = opts.onIdleClose;
        if (onIdleClose) {
          // The origin's FIN on an idle socket ends in its close (the gateway's pool reads
          // idle sockets and closes them on 'end'; undici's stops reading and sees the close).
          // Our own keep-alive expiry closes it too: the caller tells them apart by comparing
          // with its keep-alive limit.
          s.once('close', () => {
            const t = s as TaggedSocket;
            const since = t[kIdleSince] ?? NONE;
            if (t[kBusy] || t[kClosing] || since === NONE) return;
            const idleMs = performance.now() - since;
            // The pool gave it up at the end of the window the origin announced: not the origin's close.
            const promised = t[kPromised] ?? NONE;
            if (promised !== NONE && idleMs >= promised - ANNOUNCED_KEEPALIVE_MARGIN_MS - 50) return;
            onIdleClose(idleMs);
          });
        }
      }
      if (err === null && s) callback(null, s);
      else callback(err ?? new Error('connect failed'), null);
    }) as Socket | undefined;
    // The connect timeout counts from the end of the lookup: DNS has its own timeout, and the
    // error must name the phase that was slow.
    const startTimer = (): void => {
      if (!socket || socket.destroyed) return;
      const from = performance.now();
      // A timer counts from the event loop's cached time, which lags behind a busy loop:
      // one that fires early waits out the rest, so no connect is given up before its limit.
      const fire = (): void => {
        const left = opts.timeoutMs - (performance.now() - from);
        if (left > 0.5) {
          timer = setTimeout(fire, Math.ceil(left));
          timer.unref();
          return;
        }
        const e = Object.assign(new Error(`Connect Timeout Error (attempted address: ${options.hostname}:${options.port}, timeout: ${opts.timeoutMs}ms)`), {
          code: 'UND_ERR_CONNECT_TIMEOUT',
        });
        socket.destroy(e);
      };
      timer = setTimeout(fire, opts.timeoutMs);
      timer.unref();
    };
    socket?.once('lookup', () => {
      tLookup = performance.now();
      startTimer();
    });
    socket?.once('connect', () => {
      tConnect = performance.now();
    });
    if (isIP(options.hostname.replace(/^\[|\]$/g, '')) !== 0) startTimer();
    return socket as never;
  };
}

/**
 * Counts the requests written on a socket: 0 before the first means a fresh connection.
 * Returns whether the socket had carried a request before (it was reused) and, for a
 * fresh one, how long opening it took.
 */
export function markRequestOnSocket(socket: Socket): { reused: boolean; timings: ConnectTimings | null; idleMs: number | null } {
  const s = socket as TaggedSocket;
  const n = s[kRequests] ?? 0;
  s[kRequests] = n + 1;
  s[kBusy] = true;
  const since = s[kIdleSince] ?? NONE;
  const idleMs = n > 0 && since !== NONE && !s[kClosing] ? performance.now() - since : null;
  s[kGap] = idleMs;
  return { reused: n > 0, timings: n === 0 ? (s[kTimings] ?? null) : null, idleMs };
}

/** The response on this socket is complete: from now on it is idle in the pool. */
export function markSocketIdle(socket: Socket): void {
  const s = socket as TaggedSocket;
  if (s[kBusy] && s[kGap] != null) s[kGuard]?.answeredAfterIdle(s[kGap]);
  s[kGap] = null;
  s[kBusy] = false;
  if (!s[kClosing]) s[kIdleSince] = performance.now();
}

/**
 * The origin said `Connection: close`: the socket will close right after this response, and
 * that close says nothing about how long the origin keeps idle connections.
 */
export function markSocketClosing(socket: Socket): void {
  (socket as TaggedSocket)[kClosing] = true;
}

/** The origin's answer on this socket said `Keep-Alive: timeout=` this long. */
export function markSocketPromised(socket: Socket, idleMs: number): void {
  (socket as TaggedSocket)[kPromised] = idleMs;
}

/** The socket facts a ReuseGuard reads, and how it closes an idle socket itself. */
export const socketState: SocketState = {
  idleSince(socket) {
    const s = socket as TaggedSocket;
    const since = s[kIdleSince] ?? NONE;
    return s[kBusy] || s[kClosing] || s.destroyed || since === NONE ? null : since;
  },
  promisedIdleMs(socket) {
    const promised = (socket as TaggedSocket)[kPromised] ?? NONE;
    return promised === NONE ? null : promised;
  },
  retire(socket) {
    // Closing: its close is ours, not the origin's, and teaches nothing about its keep-alive.
    markSocketClosing(socket);
    socket.destroy();
  },
};
