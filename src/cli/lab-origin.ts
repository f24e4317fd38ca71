// `gatewise lab origin` and `gatewise lab dns`: run one fault origin or the lab's DNS
// server in the foreground until SIGINT/SIGTERM, to try a gateway (ours or another)
// against a failure by hand.
import { parseArgs } from 'node:util';
import { type DnsMode, startDnsServer } from '../lab/dns-server.ts';
import { describeFault, FAULT_HELP, FAULT_KINDS, type FaultOptions, isFaultKind, startOrigin } from '../lab/origin.ts';

export type LabIo = {
  /** Ends the command as SIGINT would (for tests). */
  signal?: AbortSignal;
  out?: (line: string) => void;
  err?: (line: string) => void;
};

const ORIGIN_USAGE = `usage: gatewise lab origin --fault KIND [options]

Runs one origin on loopback that misbehaves in one way, until Ctrl-C.

faults:
${FAULT_KINDS.map((k) => `  ${k.padEnd(14)} ${FAULT_HELP[k]}`).join('\n')}

options:
  --fault KIND         the fault (required)
  --host ADDR          loopback address (default 127.0.0.1)
  --port N             port (default: a free one below the kernel's ephemeral range, so that it
                       stays free while the origin is down; blackhole: the kernel's choice)
  --body-bytes N       body size (default 150)
  --latency-ms N|A-B   healthy latency, fixed or random in [A, B] (default 0)
  --workers N          overload: workers (default 4)
  --service-ms N       overload: time per request (default 50)
  --queue N            overload: queue length (default 8)
  --up-ms N            flap: time up (default 2000)
  --down-ms N          flap: time down (default 1000)
  --delay-ms N         slow: answer delay (default 10000)
  --after-ms N         terminate: cut after (default 1000); reset-body: reset after (default 100)
  --chunked            terminate: chunked instead of a too-long Content-Length
  --idle-ms N          close-idle: idle timeout (default 1000)
  --announce           close-idle: send Keep-Alive: timeout=N
  --junk KIND          garbage: status-line (default) or binary
  --header-bytes N     huge-headers: header section size (default 65536)
  --interval-ms N      drip: time between bytes (default 1000)`;

const DNS_USAGE = `usage: gatewise lab dns [--host ADDR] [--port N] [--ttl S] [--mode MODE] --record NAME=IP[,IP]...

Runs an authoritative DNS server (UDP) on loopback until Ctrl-C. Unknown names get NXDOMAIN.
modes: answer (default), nxdomain, servfail, refused, timeout (never replies)`;

const DNS_MODES: readonly DnsMode[] = ['answer', 'nxdomain', 'servfail', 'timeout', 'refused'];

/** `lab origin …` (the default) or `lab dns …`; argv starts after `lab`, or after `lab origin`. */
export async function labOriginCommand(argv: string[], io: LabIo = {}): Promise<number> {
  const out = io.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const err = io.err ?? ((l: string) => process.stderr.write(`${l}\n`));
  const [first, ...rest] = argv;
  if (first === 'dns') return labDnsCommand(rest, io);
  const args = first === 'origin' ? rest : argv;
  let opts: FaultOptions | 'help';
  try {
    opts = parseOriginArgs(args);
  } catch (e) {
    err(`gatewise lab origin: ${(e as Error).message}\n\n${ORIGIN_USAGE}`);
    return 2;
  }
  if (opts === 'help') {
    out(ORIGIN_USAGE);
    return 0;
  }
  const origin = await startOrigin(opts);
  out(`lab origin "${opts.fault}" listening on ${origin.url} (${describeFault(opts)})`);
  await untilStopped(io.signal);
  await origin.close();
  out(`lab origin "${opts.fault}" closed: ${origin.stats.connections} connections, ${origin.stats.requests} requests`);
  return 0;
}

export async function labDnsCommand(argv: string[], io: LabIo = {}): Promise<number> {
  const out = io.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const err = io.err ?? ((l: string) => process.stderr.write(`${l}\n`));
  let parsed: ReturnType<typeof parseDnsArgs>;
  try {
    parsed = parseDnsArgs(argv);
  } catch (e) {
    err(`gatewise lab dns: ${(e as Error).message}\n\n${DNS_USAGE}`);
    return 2;
  }
  if (parsed === 'help') {
    out(DNS_USAGE);
    return 0;
  }
  const dns = await startDnsServer(parsed);
  const names = Object.keys(parsed.records).length;
  out(`lab dns listening on ${dns.address} (udp, ${names} names, mode ${dns.mode})`);
  await untilStopped(io.signal);
  await dns.close();
  out(`lab dns closed: ${dns.queries} queries`);
  return 0;
}

function parseOriginArgs(argv: string[]): FaultOptions | 'help' {
  const num = { type: 'string' } as const;
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      fault: { type: 'string' },
      host: { type: 'string' },
      port: num,
      'body-bytes': num,
      'latency-ms': num,
      workers: num,
      'service-ms': num,
      queue: num,
      'up-ms': num,
      'down-ms': num,
      'delay-ms': num,
      'after-ms': num,
      chunked: { type: 'boolean' },
      'idle-ms': num,
      announce: { type: 'boolean' },
      junk: { type: 'string' },
      'header-bytes': num,
      'interval-ms': num,
    },
  });
  if (v.help) return 'help';
  if (!v.fault) throw new Error('--fault is required');
  if (!isFaultKind(v.fault)) throw new Error(`unknown fault "${v.fault}"`);
  if (v.junk !== undefined && v.junk !== 'status-line' && v.junk !== 'binary') {
    throw new Error(`--junk must be status-line or binary, not "${v.junk}"`);
  }
  const n = (name: string, s: string | undefined) => (s === undefined ? undefined : toCount(name, s));
  const o: FaultOptions = {
    fault: v.fault,
    host: v.host,
    port: n('--port', v.port),
    bodyBytes: n('--body-bytes', v['body-bytes']),
    latencyMs: v['latency-ms'] === undefined ? undefined : toLatency(v['latency-ms']),
    workers: n('--workers', v.workers),
    serviceMs: n('--service-ms', v['service-ms']),
    queue: n('--queue', v.queue),
    upMs: n('--up-ms', v['up-ms']),
    downMs: n('--down-ms', v['down-ms']),
    delayMs: n('--delay-ms', v['delay-ms']),
    afterMs: n('--after-ms', v['after-ms']),
    chunked: v.chunked,
    idleMs: n('--idle-ms', v['idle-ms']),
    announce: v.announce,
    junk: v.junk,
    headerBytes: n('--header-bytes', v['header-bytes']),
    intervalMs: n('--interval-ms', v['interval-ms']),
  };
  // Leave unset options out, so the defaults apply and describeFault shows them.
  return Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as FaultOptions;
}

function parseDnsArgs(argv: string[]) {
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      host: { type: 'string' },
      port: { type: 'string' },
      ttl: { type: 'string' },
      mode: { type: 'string' },
      record: { type: 'string', multiple: true },
    },
  });
  if (v.help) return 'help' as const;
  const records: Record<string, string[]> = {};
  for (const r of v.record ?? []) {
    const [name, ips] = r.split('=');
    if (!name || ips === undefined) throw new Error(`--record must be NAME=IP[,IP], not "${r}"`);
    records[name] = ips.split(',').filter(Boolean);
  }
  const mode = v.mode ?? 'answer';
  if (!(DNS_MODES as readonly string[]).includes(mode)) throw new Error(`unknown mode "${mode}"`);
  return {
    records,
    host: v.host,
    port: v.port === undefined ? undefined : toCount('--port', v.port),
    ttl: v.ttl === undefined ? undefined : toCount('--ttl', v.ttl),
    mode: mode as DnsMode,
  };
}

function toCount(name: string, s: string): number {
  if (!/^\d+$/.test(s)) throw new Error(`${name} must be a whole number, not "${s}"`);
  return Number(s);
}

function toLatency(s: string): number | [number, number] {
  const range = /^(\d+)-(\d+)$/.exec(s);
  if (range) return [Number(range[1]), Number(range[2])];
  return toCount('--latency-ms', s);
}

/** Resolves on SIGINT, SIGTERM or the signal; keeps the process alive meanwhile. */
function untilStopped(signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    // Signal listeners do not keep the event loop alive, and a lab origin's own handles
    // may all be gone (offline, a flap while down).
    const keepAlive = setInterval(() => {}, 1 << 30);
    const done = () => {
      clearInterval(keepAlive);
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    if (signal?.aborted) done();
    else signal?.addEventListener('abort', done, { once: true });
  });
}
