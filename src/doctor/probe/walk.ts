// One pass DNS → TCP → TLS → HTTP. Every address from DNS gets a TCP probe, since a name
// whose second address is dead fails only for the clients that pick it; the request then
// goes over the first address that connected, in DNS order.
import { probeDns, type DnsOptions } from './dns.ts';
import { probeHttp } from './http.ts';
import type { Target } from './target.ts';
import { probeTcp } from './tcp.ts';
import { probeTls } from './tls.ts';
import type { HttpStep, TlsStep, Walk, WalkHop } from './types.ts';

export type WalkOptions = {
  readonly dns: DnsOptions;
  readonly connectTimeoutMs: number;
  readonly timeoutMs: number;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly ca: string | Buffer | null;
};

export async function walk(target: Target, kind: Walk['target'], opts: WalkOptions): Promise<Walk> {
  const startedAt = new Date().toISOString();
  const started = performance.now();
  const base = { target: kind, url: target.url, hostHeader: target.hostHeader, startedAt };
  const end = (rest: Omit<Walk, keyof typeof base | 'ms'>): Walk => ({ ...base, ms: Math.round(performance.now() - started), ...rest });

  const dns = await probeDns(target, opts.dns);
  if (dns.failure !== null || dns.answers.length === 0) return end({ dns, tcp: [], tls: null, http: null, failedAt: 'dns' });

  const results = await Promise.all(dns.answers.map((a) => probeTcp(a.address, a.family, target.port, opts.connectTimeoutMs)));
  const tcp = results.map((r) => r.step);
  const chosen = results.find((r) => r.socket !== null)?.socket ?? null;
  for (const r of results) if (r.socket !== chosen) r.socket?.destroy();
  if (chosen === null) return end({ dns, tcp, tls: null, http: null, failedAt: 'tcp' });

  let tls: TlsStep | null = null;
  let socket = chosen;
  if (target.scheme === 'https') {
    const t = await probeTls(chosen, target, { timeoutMs: opts.connectTimeoutMs, ca: opts.ca });
    tls = t.step;
    if (t.socket === null) {
      chosen.destroy();
      return end({ dns, tcp, tls, http: null, failedAt: 'tls' });
    }
    socket = t.socket;
  }

  const http: HttpStep = await probeHttp(socket, tls?.alpn === 'h2', target.port, {
    method: opts.method,
    path: target.path,
    authority: target.hostHeader,
    headers: opts.headers,
    timeoutMs: opts.timeoutMs,
  });
  // A certificate that does not verify is the failure even when the request then worked:
  // every verifying client stops at it.
  const failedAt: WalkHop | null = tls?.failure ? 'tls' : http.failure ? 'http' : null;
  return end({ dns, tcp, tls, http, failedAt });
}
