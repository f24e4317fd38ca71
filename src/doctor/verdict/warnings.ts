// What is wrong without failing this request: it will fail for someone else, or later.
import type { Walk } from '../probe/types.ts';

/** Certificates renewed by automation are renewed 30 days ahead; under 14 days it failed. */
export const CERT_WARN_DAYS = 14;

export function warningsOf(runs: readonly Walk[]): string[] {
  const out = new Set<string>();
  for (const w of runs) {
    // Answers from the system after DNS failed: the name works here and nowhere else.
    if (w.dns.note && w.dns.source === 'system' && w.dns.queryErrors.length > 0) out.add(w.dns.note);
    for (const e of w.dns.source === 'dns' ? w.dns.queryErrors : []) {
      // NODATA for one family is how a name without IPv6 (or IPv4) answers.
      if (e.code !== 'ENODATA' && w.dns.answers.length > 0) out.add(`the ${e.family === 4 ? 'A' : 'AAAA'} query for ${w.dns.name} failed (${e.code}) while the other answered`);
    }
    const ok = w.tcp.find((t) => t.outcome === 'connected');
    if (ok) {
      for (const t of w.tcp) {
        if (t.failure) out.add(`${t.failure.message}, while ${ok.address} connected: clients that try ${t.address} fail or wait`);
      }
    }
    const days = w.tls?.daysLeft;
    if (days != null && days >= 0 && days < CERT_WARN_DAYS) {
      out.add(`the certificate of ${w.dns.name} expires in ${days} day${days === 1 ? '' : 's'} (${w.tls?.chain[0]?.validTo}): renew it now`);
    }
    const status = w.http?.status;
    if (status != null && status >= 400 && status < 500 && w.http?.failure === null) {
      out.add(`${w.target === 'origin' ? 'the origin' : 'the URL'} answered ${status}: the network path works, but the path, Host or credentials are not what the server expects`);
    }
  }
  return [...out];
}
