// The DNS hop: ask the resolver for A and AAAA directly (not getaddrinfo), because only a
// real query tells NXDOMAIN from SERVFAIL from a timeout, names the server that said so,
// and shows the TTLs that decide how long a fixed record stays broken elsewhere.
import dns from 'node:dns';
import { isIP } from 'node:net';
import { elapsed } from './clock.ts';
import { codeOf, probeFailure } from './failure.ts';
import type { Target } from './target.ts';
import type { DnsAnswer, DnsStep, ProbeFailure } from './types.ts';

export type DnsOptions = {
  /** IP:PORT; null asks the system's servers (dns.getServers()). */
  readonly resolver: string | null;
  /** Of the first try; c-ares doubles it for the next. */
  readonly timeoutMs: number;
};

/** One retry rides out a lost UDP packet; more would only delay the verdict. */
const TRIES = 2;

/** What each resolver error means, as an operator reads it in `dig`. */
const RCODES: Record<string, { name: string; meaning: string }> = {
  ENOTFOUND: { name: 'NXDOMAIN', meaning: 'the name does not exist' },
  ENODATA: { name: 'NODATA', meaning: 'the name exists but has no A or AAAA record' },
  ESERVFAIL: { name: 'SERVFAIL', meaning: 'the resolver could not get an answer from the authoritative servers' },
  ETIMEOUT: { name: 'TIMEOUT', meaning: 'the resolver did not answer' },
  EREFUSED: { name: 'REFUSED', meaning: 'the resolver refused to answer this query' },
  ECONNREFUSED: { name: 'CONNREFUSED', meaning: 'nothing listens on the resolver’s port' },
};

/** When A and AAAA fail differently, the most telling reason wins. */
const RANK = ['ENOTFOUND', 'ESERVFAIL', 'EREFUSED', 'ETIMEOUT', 'ECONNREFUSED', 'ENODATA'];

export function rcodeName(code: string): string {
  return RCODES[code]?.name ?? code;
}

export async function probeDns(target: Target, opts: DnsOptions): Promise<DnsStep> {
  const base = { name: target.host, queryErrors: [], failure: null, note: null };
  if (target.pinnedAddress !== null) {
    const address = target.pinnedAddress;
    return { ...base, source: 'pinned', resolver: null, ms: 0, answers: [{ address, family: familyOf(address), ttl: null }] };
  }
  if (isIP(target.host)) {
    return { ...base, source: 'ip-literal', resolver: null, ms: 0, answers: [{ address: target.host, family: familyOf(target.host), ttl: null }] };
  }
  // RFC 6761: localhost never goes to DNS, and asking a server for it proves nothing.
  if (opts.resolver === null && /(^|\.)localhost$/i.test(target.host)) {
    const started = performance.now();
    const answers = await systemLookup(target.host);
    return { ...base, source: 'system', resolver: null, ms: elapsed(started), answers: answers ?? [], note: 'localhost is answered by the system, not DNS' };
  }

  const servers = opts.resolver === null ? dns.getServers() : [opts.resolver];
  const resolver = new dns.promises.Resolver({ timeout: opts.timeoutMs, tries: TRIES });
  resolver.setServers(servers);
  const started = performance.now();
  const [v4, v6] = await Promise.allSettled([
    resolver.resolve4(target.host, { ttl: true }),
    resolver.resolve6(target.host, { ttl: true }),
  ]);
  const ms = elapsed(started);
  const answers: DnsAnswer[] = [
    ...(v4.status === 'fulfilled' ? v4.value.map((a) => ({ address: a.address, family: 4 as const, ttl: a.ttl })) : []),
    ...(v6.status === 'fulfilled' ? v6.value.map((a) => ({ address: a.address, family: 6 as const, ttl: a.ttl })) : []),
  ];
  const queryErrors = [
    ...(v4.status === 'rejected' ? [{ family: 4 as const, code: codeOf(v4.reason) }] : []),
    ...(v6.status === 'rejected' ? [{ family: 6 as const, code: codeOf(v6.reason) }] : []),
  ];
  const step: DnsStep = { ...base, source: 'dns', resolver: servers.join(', '), ms, answers, queryErrors };
  if (answers.length > 0) return step;

  const worst = [v4, v6]
    .flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []))
    .sort((a, b) => rankOf(codeOf(a)) - rankOf(codeOf(b)))[0];
  const failure = dnsFailure(worst, target.host, step.resolver ?? '', ms);
  if (opts.resolver !== null) return { ...step, failure };

  // The system may know the name from /etc/hosts or another NSS source; the request can
  // still work, but anything that asks DNS (a gateway's resolver, another machine) fails.
  const system = await systemLookup(target.host);
  if (system === null) return { ...step, failure };
  return {
    ...step,
    source: 'system',
    answers: system,
    note: `DNS (${step.resolver}) answered ${failure.code}, but the system resolver knows the name (/etc/hosts?): resolvers that ask DNS will fail`,
  };
}

function dnsFailure(err: unknown, name: string, servers: string, ms: number): ProbeFailure {
  const code = codeOf(err);
  const r = RCODES[code];
  const said = r ? `${r.name} (${r.meaning})` : code || String(err);
  const limit = code === 'ETIMEOUT' ? ` in ${Math.round(ms)} ms, over ${TRIES} tries` : '';
  return probeFailure(err, { progress: 'connecting', endpoint: name, connectMs: 0, responseMs: 0 }, `looking up ${name} at ${servers}: ${said}${limit}`, r?.name ?? code);
}

async function systemLookup(name: string): Promise<DnsAnswer[] | null> {
  try {
    const all = await dns.promises.lookup(name, { all: true, order: 'verbatim' });
    return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4, ttl: null }));
  } catch {
    return null;
  }
}

function rankOf(code: string): number {
  const i = RANK.indexOf(code);
  return i < 0 ? RANK.length : i;
}

function familyOf(address: string): 4 | 6 {
  return isIP(address) === 6 ? 6 : 4;
}
