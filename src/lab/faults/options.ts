// What a lab origin can be asked to do, with every default in one place, so that the
// library, the CLI's help and its "listening on …" line can never disagree.

export const FAULT_KINDS = [
  'healthy',
  'overload',
  'offline',
  'flap',
  'blackhole',
  'slow',
  'terminate',
  'reset-headers',
  'reset-body',
  'close-idle',
  'garbage',
  'huge-headers',
  'bad-chunking',
  'drip',
  'accept-close',
  'tls-bad-cert',
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

export function isFaultKind(s: string): s is FaultKind {
  return (FAULT_KINDS as readonly string[]).includes(s);
}

/** One line each, for `--help` and the docs. */
export const FAULT_HELP: Record<FaultKind, string> = {
  healthy: 'answers 200 (GET /echo: request as JSON, /bytes/N: N bytes, /status/N, Upgrade: echo)',
  overload: '`workers` busy, a bounded `queue` behind them, resets beyond it (an overloaded PHP-FPM pool)',
  offline: 'nothing listens on the port: connections are refused (start() brings it up healthy)',
  flap: 'healthy, but goes down for `downMs` after every `upMs`',
  blackhole: 'the TCP handshake never completes: a connect timeout, not a refusal',
  slow: 'reads the request, answers after `delayMs`',
  terminate: 'sends headers and part of the body, then closes (FIN) after `afterMs`',
  'reset-headers': 'reads the request, then resets (RST) before any response byte',
  'reset-body': 'sends headers and part of a Content-Length body, then resets (RST)',
  'close-idle': 'healthy, but closes (FIN) keep-alive connections idle for `idleMs`',
  garbage: 'answers with an invalid status line or binary junk',
  'huge-headers': 'answers with a header section larger than `headerBytes`',
  'bad-chunking': 'answers chunked with an invalid chunk-size line',
  drip: 'sends the body one byte every `intervalMs`',
  'accept-close': 'accepts the TCP connection and closes it (FIN) at once, without answering',
  'tls-bad-cert': 'HTTPS with a self-signed certificate that a verifying client rejects',
};

export type FaultOptions = {
  fault: FaultKind;
  /** Loopback address to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port; 0 picks a free one below the kernel's ephemeral range (a blackhole: the kernel's choice, spare-port.ts). Default 0. */
  port?: number;
  /** Response body size of the answering faults (healthy, slow, overload); the part sent by terminate and reset-body; the length of the drip. Default 150. */
  bodyBytes?: number;
  /** healthy, flap, close-idle, offline (once started), tls-bad-cert: added latency, fixed or a random `[min, max]`. Default 0. */
  latencyMs?: number | readonly [number, number];
  /** overload: requests served at once. Default 4. */
  workers?: number;
  /** overload: time each request holds a worker. Default 50. */
  serviceMs?: number;
  /** overload: requests that may wait for a worker; the next one is reset. Default 8. */
  queue?: number;
  /** flap: time up before each outage. Default 2000. */
  upMs?: number;
  /** flap: length of each outage. Default 1000. */
  downMs?: number;
  /** slow: time between the end of the request and the answer. Default 10000. */
  delayMs?: number;
  /** terminate: time before the cut (default 1000); reset-body: time before the RST (default 100). */
  afterMs?: number;
  /** terminate: `Transfer-Encoding: chunked` instead of a Content-Length larger than what is sent. Default false. */
  chunked?: boolean;
  /** close-idle: idle time after which a keep-alive connection is closed. Default 1000. */
  idleMs?: number;
  /** close-idle: announce the idle time in `Keep-Alive: timeout=N` (seconds, rounded up). Default false. */
  announce?: boolean;
  /** garbage: `status-line` (`HTTP/1.1 abc`) or `binary` (a TLS alert, as from a TLS port). Default `status-line`. */
  junk?: 'status-line' | 'binary';
  /** huge-headers: the header section is larger than this. Default 65536. */
  headerBytes?: number;
  /** drip: time between two body bytes. Default 1000. */
  intervalMs?: number;
};

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  bodyBytes: 150,
  latencyMs: 0,
  workers: 4,
  serviceMs: 50,
  queue: 8,
  upMs: 2000,
  downMs: 1000,
  delayMs: 10_000,
  terminateAfterMs: 1000,
  resetAfterMs: 100,
  chunked: false,
  idleMs: 1000,
  announce: false,
  junk: 'status-line',
  headerBytes: 65_536,
  intervalMs: 1000,
} as const;

/** The parenthesised part of the CLI's "listening on" line. */
export function describeFault(o: FaultOptions): string {
  const latency = Array.isArray(o.latencyMs)
    ? `${o.latencyMs[0]}-${o.latencyMs[1]} ms latency`
    : `${o.latencyMs ?? DEFAULTS.latencyMs} ms latency`;
  switch (o.fault) {
    case 'healthy':
    case 'tls-bad-cert':
      return `200 with ${o.bodyBytes ?? DEFAULTS.bodyBytes} bytes, ${latency}`;
    case 'overload':
      return `${o.workers ?? DEFAULTS.workers} workers × ${o.serviceMs ?? DEFAULTS.serviceMs} ms, queue ${o.queue ?? DEFAULTS.queue}, resets beyond`;
    case 'offline':
      return 'connections are refused';
    case 'flap':
      return `up ${o.upMs ?? DEFAULTS.upMs} ms, down ${o.downMs ?? DEFAULTS.downMs} ms`;
    case 'blackhole':
      return 'connects never complete';
    case 'slow':
      return `answers after ${o.delayMs ?? DEFAULTS.delayMs} ms`;
    case 'terminate':
      return `cuts the body after ${o.afterMs ?? DEFAULTS.terminateAfterMs} ms`;
    case 'reset-headers':
      return 'resets before answering';
    case 'reset-body':
      return `resets ${o.afterMs ?? DEFAULTS.resetAfterMs} ms into the body`;
    case 'close-idle':
      return `closes after ${o.idleMs ?? DEFAULTS.idleMs} ms idle${o.announce ? ', announced' : ''}`;
    case 'garbage':
      return `answers ${o.junk ?? DEFAULTS.junk} junk`;
    case 'huge-headers':
      return `headers over ${o.headerBytes ?? DEFAULTS.headerBytes} bytes`;
    case 'bad-chunking':
      return 'invalid chunk size';
    case 'drip':
      return `one byte every ${o.intervalMs ?? DEFAULTS.intervalMs} ms`;
    case 'accept-close':
      return 'closes every connection at once';
  }
}
