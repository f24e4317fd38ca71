import { promises as dnsPromises, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';

/** The resolver the gateway uses for upstream host names, when it is not the system's. */
export type ResolverConfig = { readonly servers: readonly string[]; readonly timeoutMs: number; readonly tries: number };

/** How long answers are kept: the record's TTL within [minTtlMs, maxTtlMs], and served stale up to staleMs more when the resolver fails. */
export type DnsCachePolicy = { readonly minTtlMs: number; readonly maxTtlMs: number; readonly staleMs: number };

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
export type LookupFunction = (hostname: string, options: { all?: boolean }, callback: LookupCallback) => void;

type Entry = { addrs: LookupAddress[]; freshUntil: number; staleUntil: number; pending: Promise<LookupAddress[]> | null };

export type DnsEvents = {
  /** The resolver failed and the last good answer was used instead. */
  readonly onStale?: (hostname: string, err: NodeJS.ErrnoException) => void;
  /** A fresh answer differs from the previous one. */
  readonly onChange?: (hostname: string, addrs: readonly string[]) => void;
};

/**
 * Upstream name resolution through the configured DNS servers (not getaddrinfo, so the lab's
 * DNS server can be used), with a cache that follows the records' TTL and keeps serving the
 * last good answer for a while when the resolver fails or goes silent: a DNS outage then
 * reaches users only when no good answer is left. Errors keep c-ares' codes (ENOTFOUND,
 * ESERVFAIL, ETIMEOUT, EREFUSED) and `syscall: 'queryA'`, which is how errors/classify.ts
 * knows they came from DNS.
 */
export class CachingResolver {
  private readonly resolver: dnsPromises.Resolver;
  private readonly policy: DnsCachePolicy;
  private readonly events: DnsEvents;
  private readonly cache = new Map<string, Entry>();
  /** Rotates the order of a name's addresses, so new connections spread over all of them. */
  private turn = 0;

  constructor(cfg: ResolverConfig, policy: DnsCachePolicy, events: DnsEvents = {}) {
    this.resolver = new dnsPromises.Resolver({ timeout: cfg.timeoutMs, tries: cfg.tries });
    this.resolver.setServers([...cfg.servers]);
    this.policy = policy;
    this.events = events;
  }

  readonly lookup: LookupFunction = (hostname, options, callback) => {
    const literal = isIP(hostname);
    if (literal !== 0) {
      if (options.all) callback(null, [{ address: hostname, family: literal }]);
      else callback(null, hostname, literal);
      return;
    }
    this.resolve(hostname).then(
      (addrs) => {
        const n = this.turn++ % addrs.length;
        const ordered = n === 0 ? addrs : [...addrs.slice(n), ...addrs.slice(0, n)];
        if (options.all) callback(null, ordered);
        else callback(null, ordered[0]!.address, ordered[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, options.all ? [] : '', 0),
    );
  };

  /** The current answer for a name: cached while fresh, else asked again; stale when the resolver fails. */
  resolve(hostname: string): Promise<LookupAddress[]> {
    const now = Date.now();
    const e = this.cache.get(hostname);
    if (e && now < e.freshUntil) return Promise.resolve(e.addrs);
    if (e?.pending) return e.pending;
    const pending = this.query(hostname).then(
      ({ addrs, ttlMs }) => {
        const prev = this.cache.get(hostname);
        const t = Date.now();
        this.cache.set(hostname, { addrs, freshUntil: t + ttlMs, staleUntil: t + ttlMs + this.policy.staleMs, pending: null });
        if (prev && !sameAddresses(prev.addrs, addrs)) this.events.onChange?.(hostname, addrs.map((a) => a.address));
        return addrs;
      },
      (err: NodeJS.ErrnoException) => {
        const prev = this.cache.get(hostname);
        if (prev) prev.pending = null;
        if (prev && Date.now() < prev.staleUntil) {
          this.events.onStale?.(hostname, err);
          return prev.addrs;
        }
        throw err;
      },
    );
    if (e) e.pending = pending;
    else this.cache.set(hostname, { addrs: [], freshUntil: 0, staleUntil: 0, pending });
    return pending.finally(() => {
      const cur = this.cache.get(hostname);
      if (cur && cur.addrs.length === 0 && cur.pending === pending) this.cache.delete(hostname);
    });
  }

  /** Milliseconds until the cached answer for a name expires (0 when none is cached). */
  freshFor(hostname: string): number {
    const e = this.cache.get(hostname);
    return e ? Math.max(0, e.freshUntil - Date.now()) : 0;
  }

  private async query(hostname: string): Promise<{ addrs: LookupAddress[]; ttlMs: number }> {
    const [v4, v6] = await Promise.allSettled([
      this.resolver.resolve4(hostname, { ttl: true }),
      this.resolver.resolve6(hostname, { ttl: true }),
    ]);
    const addrs: LookupAddress[] = [];
    let ttl = Number.POSITIVE_INFINITY;
    if (v4.status === 'fulfilled') for (const a of v4.value) {
      addrs.push({ address: a.address, family: 4 });
      ttl = Math.min(ttl, a.ttl);
    }
    if (v6.status === 'fulfilled') for (const a of v6.value) {
      addrs.push({ address: a.address, family: 6 });
      ttl = Math.min(ttl, a.ttl);
    }
    if (addrs.length > 0) {
      const ttlMs = Math.min(this.policy.maxTtlMs, Math.max(this.policy.minTtlMs, ttl * 1000));
      return { addrs, ttlMs };
    }
    // Report the IPv4 failure: it is the one that names NXDOMAIN/SERVFAIL/timeout for most origins.
    if (v4.status === 'rejected') throw v4.reason;
    const err: NodeJS.ErrnoException = new Error(`queryA ENOTFOUND ${hostname}`);
    err.code = 'ENOTFOUND';
    err.syscall = 'queryA';
    (err as { hostname?: string }).hostname = hostname;
    throw err;
  }
}

function sameAddresses(a: readonly LookupAddress[], b: readonly LookupAddress[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a.map((x) => x.address));
  return b.every((x) => set.has(x.address));
}
