import { promises as dnsPromises, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';

/** The resolver the gateway uses for upstream host names, when it is not the system's. */
export type ResolverConfig = { readonly servers: readonly string[]; readonly timeoutMs: number; readonly tries: number };

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
export type LookupFunction = (hostname: string, options: { all?: boolean }, callback: LookupCallback) => void;

/**
 * A net.connect `lookup` that asks the configured DNS servers instead of getaddrinfo, so
 * that the gateway can be pointed at a specific resolver (and the lab's DNS server).
 * Errors keep c-ares' codes (ENOTFOUND, ESERVFAIL, ETIMEOUT, EREFUSED) and its
 * `syscall: 'queryA'`, which is how errors/classify.ts knows they came from DNS.
 */
export function resolverLookup(cfg: ResolverConfig): LookupFunction {
  const resolver = new dnsPromises.Resolver({ timeout: cfg.timeoutMs, tries: cfg.tries });
  resolver.setServers([...cfg.servers]);
  return (hostname, options, callback) => {
    const literal = isIP(hostname);
    if (literal !== 0) {
      if (options.all) callback(null, [{ address: hostname, family: literal }]);
      else callback(null, hostname, literal);
      return;
    }
    resolve(resolver, hostname).then(
      (addrs) => {
        if (options.all) callback(null, addrs);
        else callback(null, addrs[0]!.address, addrs[0]!.family);
      },
      (err: NodeJS.ErrnoException) => {
        callback(err, options.all ? [] : '', 0);
      },
    );
  };
}

async function resolve(resolver: dnsPromises.Resolver, hostname: string): Promise<LookupAddress[]> {
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(hostname), resolver.resolve6(hostname)]);
  const out: LookupAddress[] = [];
  if (v4.status === 'fulfilled') for (const a of v4.value) out.push({ address: a, family: 4 });
  if (v6.status === 'fulfilled') for (const a of v6.value) out.push({ address: a, family: 6 });
  if (out.length > 0) return out;
  // Report the IPv4 failure: it is the one that names NXDOMAIN/SERVFAIL/timeout for most origins.
  if (v4.status === 'rejected') throw v4.reason;
  const err: NodeJS.ErrnoException = new Error(`queryA ENOTFOUND ${hostname}`);
  err.code = 'ENOTFOUND';
  err.syscall = 'queryA';
  (err as { hostname?: string }).hostname = hostname;
  throw err;
}
