// The terminal report: findings first (what to do), then the numbers behind them.

import type { LogReport, MinuteCount } from './types.ts';

const BAR = 40;
const MAX_ROWS = 30;

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

function when(t: string | null): string {
  return t === null ? '?' : t.slice(0, 19).replace('T', ' ');
}

/** Merges minutes into wider buckets so the histogram stays under MAX_ROWS rows. */
function buckets(minutes: readonly MinuteCount[]): { label: string; size: number; rows: { t: number; count: number }[] } {
  if (minutes.length === 0) return { label: '1 min', size: 1, rows: [] };
  const first = Date.parse((minutes[0] as MinuteCount).minute);
  const last = Date.parse((minutes[minutes.length - 1] as MinuteCount).minute);
  const spanMin = (last - first) / 60_000 + 1;
  const sizes = [1, 2, 5, 10, 15, 30, 60, 120, 360, 720, 1440, 10080];
  const size = sizes.find((s) => spanMin / s <= MAX_ROWS) ?? 10080;
  const rows = new Map<number, number>();
  for (const m of minutes) {
    const t = Date.parse(m.minute);
    const b = t - (t % (size * 60_000));
    rows.set(b, (rows.get(b) ?? 0) + m.count);
  }
  // Show empty buckets too: a gap in errors is information.
  const out: { t: number; count: number }[] = [];
  const start = first - (first % (size * 60_000));
  for (let t = start; t <= last; t += size * 60_000) out.push({ t, count: rows.get(t) ?? 0 });
  const label = size < 60 ? `${size} min` : size < 1440 ? `${size / 60} h` : `${size / 1440} d`;
  return { label, size, rows: out };
}

export function renderReport(r: LogReport): string {
  const out: string[] = [];
  const files = r.files.map((f) => `${f.name} (${f.format}, ${fmt(f.lines)} lines)`).join(', ');
  out.push(`gatewise doctor logs — ${files}`);
  const pct = r.totals.lines === 0 ? 0 : (100 * r.totals.errors) / r.totals.lines;
  out.push(
    `${fmt(r.totals.lines)} lines, ${fmt(r.totals.errors)} about errors (${pct.toFixed(1)}%)` +
      (r.firstSeen === null ? '' : `, first ${when(r.firstSeen)}, last ${when(r.lastSeen)} UTC`) +
      (r.totals.repeats > 0 ? `, ${fmt(r.totals.repeats)} repeats not counted` : '') +
      (r.totals.unrecognized > 0 ? `, ${fmt(r.totals.unrecognized)} error lines not understood` : ''),
  );
  out.push('');
  if (r.findings.length === 0) {
    out.push('No errors found.');
    return `${out.join('\n')}\n`;
  }
  out.push('Findings, by lines affected');
  r.findings.forEach((f, i) => {
    // Lines without a status (PHP-FPM's warnings) are evidence, not responses users saw.
    const statuses = Object.entries(f.statuses)
      .filter(([s]) => s !== 'none')
      .sort((a, b) => b[1] - a[1])
      .map(([s, n]) => `${s} ×${fmt(n)}`)
      .join(', ');
    out.push(`${String(i + 1).padStart(2)}. ${f.title} — ${fmt(f.lines)} lines [${f.causes.join(' + ')}; hop: ${f.hop}]`);
    if (statuses !== '') out.push(`    users saw: ${statuses}`);
    out.push(`    ${f.summary}`);
    out.push(`    why: ${f.fix}`);
    for (const c of f.changes) out.push(`    fix: ${c.file}: ${c.directive} → ${c.value}`);
    for (const e of f.evidence.slice(0, 2)) out.push(`    e.g. ${e.length > 200 ? `${e.slice(0, 197)}...` : e}`);
    out.push('');
  });

  out.push('By cause');
  const width = Math.max(...r.byCause.map((c) => c.cause.length));
  for (const c of r.byCause) {
    const st = Object.entries(c.statuses)
      .map(([s, n]) => `${s === 'none' ? '-' : s}:${fmt(n)}`)
      .join(' ');
    out.push(`  ${c.cause.padEnd(width)}  ${fmt(c.count).padStart(9)}  ${c.hop.padEnd(8)}  ${st}`);
  }
  if (r.byUpstream.length > 0) {
    out.push('');
    out.push('By upstream');
    for (const u of r.byUpstream.slice(0, 10)) out.push(`  ${fmt(u.count).padStart(9)}  ${u.upstream}`);
  }
  const h = buckets(r.byMinute);
  if (h.rows.length > 0) {
    out.push('');
    out.push(`Errors over time (UTC, one row per ${h.label})`);
    const max = Math.max(...h.rows.map((x) => x.count));
    for (const row of h.rows) {
      const len = max === 0 ? 0 : Math.round((row.count / max) * BAR);
      const bar = row.count > 0 && len === 0 ? '▏' : '█'.repeat(len);
      out.push(`  ${new Date(row.t).toISOString().slice(0, 16).replace('T', ' ')}  ${bar} ${fmt(row.count)}`);
    }
  }
  return `${out.join('\n')}\n`;
}
