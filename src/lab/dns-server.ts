// A small authoritative UDP DNS server for the lab, to make name resolution fail on demand.
//
// What Node's c-ares resolver (dns.promises.Resolver with setServers(['127.0.0.1:PORT']))
// reports for each mode, checked on Node 24 (test/lab-faults.test.ts pins it):
//   answer, known name             → the addresses
//   answer, known name, no address of the asked family → ENODATA (NOERROR, empty answer)
//   answer, unknown name / nxdomain → ENOTFOUND (NXDOMAIN)
//   servfail                       → ESERVFAIL
//   refused                        → EREFUSED
//   timeout (no reply at all)      → ETIMEOUT, after timeout × tries (Resolver options)
// dns.lookup() does not go through here: it asks the system (getaddrinfo), which reports
// every failure as ENOTFOUND or EAI_AGAIN and knows nothing of this server.
import dgram from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';
import dnsPacket from 'dns-packet';

export type DnsMode = 'answer' | 'nxdomain' | 'servfail' | 'timeout' | 'refused';

export type DnsServerOptions = {
  /** name → IPv4 and IPv6 addresses. A name with [] exists but has no address (NODATA). */
  records: Record<string, string[]>;
  /** TTL of every answer, in seconds. Default 1. */
  ttl?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 picks an ephemeral port. Default 0. */
  port?: number;
  /** Changes applied `atMs` after start: a mode, and/or records merged in (a name per key). */
  schedule?: { atMs: number; mode?: DnsMode; records?: Record<string, string[]> }[];
  /** Mode at start. Default `answer`. */
  mode?: DnsMode;
};

export type RunningDnsServer = {
  readonly host: string;
  readonly port: number;
  /** `127.0.0.1:PORT`, as Resolver#setServers takes it. */
  readonly address: string;
  /** Queries received, answered or not. */
  readonly queries: number;
  readonly mode: DnsMode;
  setMode(m: DnsMode): void;
  setRecords(name: string, ips: string[]): void;
  close(): Promise<void>;
};

const RCODE = { answer: 0, nxdomain: 3, servfail: 2, refused: 5 } as const;

const normalize = (name: string) => name.toLowerCase().replace(/\.$/, '');

export async function startDnsServer(opts: DnsServerOptions): Promise<RunningDnsServer> {
  const host = opts.host ?? '127.0.0.1';
  const ttl = opts.ttl ?? 1;
  const records = new Map<string, string[]>();
  const setRecords = (name: string, ips: string[]) => {
    records.set(normalize(name), [...ips]);
  };
  for (const [name, ips] of Object.entries(opts.records)) setRecords(name, ips);
  let mode: DnsMode = opts.mode ?? 'answer';
  let queries = 0;

  const socket = dgram.createSocket(isIPv6(host) ? 'udp6' : 'udp4');
  socket.on('message', (msg, peer) => {
    queries++;
    if (mode === 'timeout') return;
    const reply = answer(msg, mode, records, ttl);
    if (reply) socket.send(reply, peer.port, peer.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: host, port: opts.port ?? 0 }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  // A stray send error must not crash the lab; the client just sees a timeout.
  socket.on('error', () => {});
  const port = socket.address().port;

  const timers = (opts.schedule ?? []).map((step) =>
    setTimeout(() => {
      if (step.mode) mode = step.mode;
      for (const [name, ips] of Object.entries(step.records ?? {})) setRecords(name, ips);
    }, step.atMs).unref(),
  );

  return {
    host,
    port,
    address: isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`,
    get queries() {
      return queries;
    },
    get mode() {
      return mode;
    },
    setMode: (m) => {
      mode = m;
    },
    setRecords,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}

function answer(msg: Buffer, mode: Exclude<DnsMode, 'timeout'>, records: Map<string, string[]>, ttl: number): Buffer | undefined {
  let query: dnsPacket.DecodedPacket;
  try {
    query = dnsPacket.decode(msg);
  } catch {
    return undefined;
  }
  const question = query.questions?.[0];
  const known = question ? records.get(normalize(question.name)) : undefined;
  let rcode: number = RCODE[mode];
  const answers: dnsPacket.Answer[] = [];
  if (mode === 'answer' && question) {
    if (!known) rcode = RCODE.nxdomain;
    else if (question.type === 'A' || question.type === 'AAAA') {
      const fits = question.type === 'A' ? isIPv4 : isIPv6;
      for (const ip of known.filter((a) => fits(a))) {
        answers.push({ type: question.type, name: question.name, ttl, class: 'IN', data: ip });
      }
    }
  }
  // The rcode sits in the low four bits of the flags word, which dns-packet passes through.
  const flags = dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_AVAILABLE | ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) | rcode;
  return dnsPacket.encode({ type: 'response', id: query.id ?? 0, flags, questions: query.questions ?? [], answers });
}
