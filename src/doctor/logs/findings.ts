// Turns the totals into findings: one per cause, except where two logs tell one
// story (PHP-FPM's max_children warning and nginx's timeouts a minute later are
// the same incident) — then one finding with both sides' numbers.

import type { Aggregator, CauseStats } from './aggregate.ts';
import { CAUSE_INFO } from './causes.ts';
import { FIXES, serverOf } from './fixes.ts';
import { iso } from './timestamps.ts';
import type { ConfigChange, ErrorCause, Finding, KnownLogFormat, LogHop } from './types.ts';

type Slice = { cause: ErrorCause; count: number };

function statusesOf(stats: CauseStats | undefined, scale = 1): Record<string, number> {
  const out: Record<string, number> = {};
  if (stats === undefined) return out;
  for (const [status, n] of stats.statuses) {
    const v = Math.round(n * scale);
    if (v > 0) out[status === null ? 'none' : String(status)] = (out[status === null ? 'none' : String(status)] ?? 0) + v;
  }
  return out;
}

function merge(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
}

function topUpstreams(stats: (CauseStats | undefined)[]): string[] {
  const all = new Map<string, number>();
  for (const s of stats) if (s !== undefined) for (const [u, n] of s.upstreams) all.set(u, (all.get(u) ?? 0) + n);
  return [...all.entries()]
    .sort((x, y) => y[1] - x[1])
    .slice(0, 5)
    .map(([u]) => u);
}

function changesFor(causes: ErrorCause[], formats: Set<KnownLogFormat>): ConfigChange[] {
  const servers = new Set([...formats].map(serverOf));
  const out: ConfigChange[] = [];
  for (const cause of causes) {
    const byServer = FIXES[cause].changes;
    for (const [server, changes] of Object.entries(byServer)) {
      if (servers.has(server as ReturnType<typeof serverOf>) && changes !== undefined) out.push(...changes);
    }
  }
  if (out.length === 0) {
    // Logs from a server the fix table does not name: show the first server's advice.
    const first = Object.values(FIXES[causes[0] as ErrorCause].changes)[0];
    if (first !== undefined) out.push(...first);
  }
  return out.filter((c, i) => out.findIndex((d) => d.directive === c.directive && d.file === c.file) === i);
}

function span(stats: (CauseStats | undefined)[]): { first: string | null; last: string | null } {
  let first: number | null = null;
  let last: number | null = null;
  for (const s of stats) {
    if (s === undefined) continue;
    if (s.first !== null && (first === null || s.first < first)) first = s.first;
    if (s.last !== null && (last === null || s.last > last)) last = s.last;
  }
  return { first: iso(first), last: iso(last) };
}

function hhmm(t: string | null): string {
  return t === null ? '?' : t.slice(11, 16);
}

/** "2024-05-02 10:02 and 10:41 UTC", with the end's date only when it differs. */
function between(first: string | null, last: string | null): string {
  if (first === null) return '';
  const end = last === null || last.slice(0, 10) === first.slice(0, 10) ? hhmm(last) : last.slice(0, 16).replace('T', ' ');
  return ` between ${first.slice(0, 16).replace('T', ' ')} and ${end} UTC`;
}

function generic(cause: ErrorCause, count: number, s: CauseStats): Finding {
  const { first, last } = span([s]);
  const statuses = statusesOf(s, count / s.count);
  const shown = Object.entries(statuses)
    .map(([k, v]) => `${v} × ${k === 'none' ? 'no status' : k}`)
    .join(', ');
  const ups = topUpstreams([s]);
  return {
    id: cause,
    title: CAUSE_INFO[cause].title,
    causes: [cause],
    hop: CAUSE_INFO[cause].hop,
    lines: count,
    statuses,
    upstreams: ups,
    firstSeen: first,
    lastSeen: last,
    summary:
      `${count} line${count === 1 ? '' : 's'} (${shown})` +
      (ups.length > 0 ? ` on ${ups.slice(0, 3).join(', ')}` : '') +
      between(first, last) +
      '.',
    fix: FIXES[cause].text,
    changes: changesFor([cause], s.formats),
    evidence: s.samples,
  };
}

function poolExhausted(agg: Aggregator, windowMs: number, taken: Map<ErrorCause, number>): Finding | null {
  const fpm = agg.byCause.get('fpm_pool_exhausted');
  if (fpm === undefined) return null;
  const near = agg.countNear('upstream_timeout_read', 'fpm_pool_exhausted', windowMs);
  const timeouts = agg.byCause.get('upstream_timeout_read');
  taken.set('upstream_timeout_read', near.count);
  taken.set('fpm_pool_exhausted', fpm.count);
  const pools = [...agg.fpm.maxChildren.entries()].map(([p, n]) => `"${p}" (pm.max_children = ${n})`);
  const { first, last } = span([fpm, near.count > 0 ? timeouts : undefined]);
  const statuses = merge(statusesOf(fpm), near.count > 0 ? statusesOf(timeouts, near.count / (timeouts?.count ?? 1)) : {});
  const formats = new Set([...fpm.formats, ...(near.count > 0 && timeouts ? timeouts.formats : [])]);
  const minutes = Math.round(windowMs / 60_000);
  return {
    id: 'php_pool_exhausted',
    title: 'The PHP pool is exhausted',
    causes: near.count > 0 ? ['fpm_pool_exhausted', 'upstream_timeout_read'] : ['fpm_pool_exhausted'],
    hop: 'app',
    lines: fpm.count + near.count,
    statuses,
    upstreams: topUpstreams([timeouts]),
    firstSeen: first,
    lastSeen: last,
    summary:
      `PHP-FPM pool${pools.length === 1 ? '' : 's'} ${pools.length > 0 ? pools.join(', ') : '(unnamed)'} reached max_children ${fpm.count} time${fpm.count === 1 ? '' : 's'}` +
      between(iso(fpm.first), iso(fpm.last)) +
      (near.count > 0
        ? `; ${near.count} request${near.count === 1 ? '' : 's'} timed out at the gateway within ${minutes} minutes of it (of ${timeouts?.count ?? 0} timeouts in all).`
        : '; no gateway timeouts were found near it (add the gateway error log to see the impact).'),
    fix: FIXES.fpm_pool_exhausted.text,
    changes: changesFor(['fpm_pool_exhausted'], new Set([...formats, 'php-fpm'])),
    evidence: [...fpm.samples.slice(0, 2), ...(near.count > 0 && timeouts ? timeouts.samples.slice(0, 2) : [])],
  };
}

function terminated(agg: Aggregator, windowMs: number, taken: Map<ErrorCause, number>): Finding | null {
  const term = agg.byCause.get('fpm_request_terminated');
  if (term === undefined) return null;
  const closes = agg.byCause.get('upstream_closed_prematurely');
  const near = agg.countNear('upstream_closed_prematurely', 'fpm_request_terminated', windowMs);
  taken.set('upstream_closed_prematurely', near.count);
  taken.set('fpm_request_terminated', term.count);
  const secs = agg.fpm.terminatedSecs;
  const lo = secs.length > 0 ? Math.min(...secs) : null;
  const hi = secs.length > 0 ? Math.max(...secs) : null;
  const limit = lo === null ? '' : ` after ${lo.toFixed(1)}${hi !== null && hi - lo >= 1 ? `-${hi.toFixed(1)}` : ''} s (so request_terminate_timeout ≈ ${Math.floor(lo)} s)`;
  const { first, last } = span([term, near.count > 0 ? closes : undefined]);
  return {
    id: 'fpm_request_terminate_timeout',
    title: 'PHP-FPM killed slow requests at request_terminate_timeout',
    causes: near.count > 0 ? ['fpm_request_terminated', 'upstream_closed_prematurely'] : ['fpm_request_terminated'],
    hop: 'app',
    lines: term.count + near.count,
    statuses: merge(statusesOf(term), near.count > 0 ? statusesOf(closes, near.count / (closes?.count ?? 1)) : {}),
    upstreams: topUpstreams([closes]),
    firstSeen: first,
    lastSeen: last,
    summary:
      `PHP-FPM terminated ${term.count} request${term.count === 1 ? '' : 's'}${limit}` +
      (near.count > 0
        ? `; the gateway saw ${near.count} "upstream prematurely closed" within ${Math.round(windowMs / 60_000)} minutes of them.`
        : '.'),
    fix: FIXES.fpm_request_terminated.text,
    changes: changesFor(['fpm_request_terminated'], new Set([...term.formats, ...(closes?.formats ?? []), 'php-fpm'])),
    evidence: [...term.samples.slice(0, 2), ...(near.count > 0 && closes ? closes.samples.slice(0, 2) : [])],
  };
}

/** Findings in order of impact (lines affected). */
export function buildFindings(agg: Aggregator, windowMs: number): Finding[] {
  const taken = new Map<ErrorCause, number>();
  const out: Finding[] = [];
  const pool = poolExhausted(agg, windowMs, taken);
  if (pool !== null) out.push(pool);
  const term = terminated(agg, windowMs, taken);
  if (term !== null) out.push(term);
  const rest: Slice[] = [];
  for (const [cause, s] of agg.byCause) {
    const left = s.count - (taken.get(cause) ?? 0);
    if (left > 0) rest.push({ cause, count: left });
  }
  for (const { cause, count } of rest) out.push(generic(cause, count, agg.byCause.get(cause) as CauseStats));
  return out.sort((a, b) => b.lines - a.lines || a.id.localeCompare(b.id));
}

export function hopOf(cause: ErrorCause): LogHop {
  return CAUSE_INFO[cause].hop;
}
