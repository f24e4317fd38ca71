// The report for a terminal: one line per hop with its time and a ✓ or ✗, the headers that
// say who answered, then the verdict and its fixes. With --repeat, the run shown is the
// first that failed (the one the verdict explains), after the failure shares.
import { hostPort } from '../probe/tcp.ts';
import type { DoctorReport, HopShare, HttpStep, TlsStep, Walk, WalkHop } from '../probe/types.ts';
import { WALK_HOPS } from '../verdict/shares.ts';

const OK = '✓';
const BAD = '✗';

export function renderHuman(r: DoctorReport): string {
  const lines: string[] = [`gatewise doctor ${r.url}`];
  const shown = pick(r.runs);
  if (r.runs.length > 1) lines.push(`  ${r.runs.length} runs, ${r.settings.intervalMs} ms apart: ${sharesLine(r.shares, r.runs.length)}`);
  lines.push(...walkLines(r.runs[shown]!));
  const origin = r.originRuns[shown];
  if (origin) {
    lines.push(`  origin ${r.settings.origin}, asked directly with Host: ${origin.hostHeader}`);
    if (r.originRuns.length > 1 && r.originShares) lines.push(`  ${sharesLine(r.originShares, r.originRuns.length)}`);
    lines.push(...walkLines(origin));
  }
  if (r.comparison) lines.push(`  compare: ${r.comparison.sentence}`);
  for (const w of r.warnings) lines.push(`  ! ${w}`);
  lines.push('');
  const v = r.verdict;
  if (v.ok) lines.push(`${OK} verdict: healthy, ${v.cause}`);
  else lines.push(`${BAD} verdict: ${v.hop}: ${v.cause}`);
  if (v.fixes.length > 0) {
    lines.push('  fixes:');
    for (const [i, f] of v.fixes.entries()) lines.push(`  ${i + 1}. ${f}`);
  }
  return lines.join('\n');
}

function pick(runs: readonly Walk[]): number {
  const failed = runs.findIndex((w) => w.failedAt !== null);
  return failed >= 0 ? failed : runs.length - 1;
}

function sharesLine(shares: Record<WalkHop, HopShare>, n: number): string {
  return WALK_HOPS.filter((h) => shares[h].reached > 0)
    .map((h) => `${h} ${shares[h].failed}/${n} failed${shares[h].failed > 0 ? ` (${Math.round(shares[h].share * 100)}%)` : ''}`)
    .join(', ');
}

function mark(ok: boolean, hop: string, text: string): string {
  return `  ${ok ? OK : BAD} ${hop.padEnd(5)} ${text}`;
}

function walkLines(w: Walk): string[] {
  const out: string[] = [];
  const d = w.dns;
  if (d.failure) out.push(mark(false, 'dns', `${d.failure.message} (${d.ms} ms)`));
  else {
    const answers = d.answers.map((a) => `${a.address}${a.ttl === null ? '' : ` (TTL ${a.ttl} s)`}`).join(', ');
    const how =
      d.source === 'ip-literal'
        ? 'an IP address, no lookup'
        : d.source === 'pinned'
          ? `pinned to ${answers}, no lookup`
          : `${d.name} → ${answers} ${d.source === 'system' ? 'from the system resolver' : `from ${d.resolver}`} in ${d.ms} ms`;
    out.push(mark(true, 'dns', d.source === 'ip-literal' ? `${d.name}: ${how}` : how));
  }
  for (const t of w.tcp) {
    out.push(t.failure ? mark(false, 'tcp', `${t.failure.message} (${t.ms} ms)`) : mark(true, 'tcp', `${hostPort(t.address, t.port)} connected in ${t.ms} ms`));
  }
  if (w.tls) out.push(...tlsLines(w.tls));
  if (w.http) out.push(...httpLines(w.http));
  return out;
}

function tlsLines(t: TlsStep): string[] {
  const session = [t.protocol, t.alpn ? `ALPN ${t.alpn}` : 'no ALPN', t.cipher].filter(Boolean).join(', ');
  if (t.protocol === null) return [mark(false, 'tls', `${t.failure?.message ?? 'no handshake'} (${t.ms} ms)`)];
  const leaf = t.chain[0];
  const cert = leaf
    ? `certificate ${leaf.subject} by ${leaf.issuer}, ${leaf.daysLeft >= 0 ? `${leaf.daysLeft} days left` : `expired ${-leaf.daysLeft} days ago`}, ${t.authorized ? 'chain trusted' : `chain not trusted (${t.verifyError})`}, ${t.hostMatch ? 'host name matches' : 'host name does not match'}`
    : 'no certificate';
  const lines = [mark(t.failure === null, 'tls', `${session} in ${t.ms} ms; ${cert}`)];
  if (t.failure) lines.push(`          ${t.failure.message}`);
  return lines;
}

function httpLines(h: HttpStep): string[] {
  const version = h.httpVersion ? `HTTP/${h.httpVersion}` : '';
  const head =
    h.status === null
      ? `${h.failure?.message ?? 'no answer'} (${h.totalMs} ms)`
      : `${h.status}${h.statusText ? ` ${h.statusText}` : ''} in ${h.totalMs} ms (first byte ${h.ttfbMs} ms), ${version}, ${h.bytes} bytes${h.truncated ? ' (stopped reading)' : ''}`;
  const lines = [mark(h.failure === null, 'http', head)];
  if (h.status !== null && h.failure && h.failure.code !== `HTTP_${h.status}`) lines.push(`          ${h.failure.message}`);
  for (const x of h.headers) lines.push(`          ${x.name}: ${x.value}`);
  for (const m of h.proxyStatus) {
    const params = [m.details, m.nextHop ? `next hop "${m.nextHop}"` : null, m.receivedStatus === null ? null : `received ${m.receivedStatus}`].filter(Boolean).join(', ');
    const what = m.error === null ? 'no error' : `${m.error}${m.title ? `: ${m.title}` : ''}`;
    lines.push(`          ↳ ${m.proxy} says ${what}${params ? ` (${params})` : ''}`);
    if (m.check) lines.push(`            check: ${m.check}`);
  }
  return lines;
}
