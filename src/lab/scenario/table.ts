// The report as a terminal table: one row per second of the run, then the total, the
// Proxy-Status chains seen, and the scenario's expectations. Timeline steps are marked on
// the row of the second they fired in, so cause and effect sit on the same line.
import { formatDuration } from '../../config/duration.ts';
import type { Report, ReportRow } from './report.ts';

const NUMERIC = ['sent', '2xx', '502', '503', '504', 'other', 'conn err', 'p50 ms', 'p99 ms'] as const;

export function formatReport(r: Report): string {
  const out: string[] = [];
  out.push(`lab run ${r.scenario}${r.description ? `: ${r.description}` : ''}`);
  const who = r.target.kind === 'gatewise' ? `gatewise "${r.target.name}"` : `proxy ${r.target.name}`;
  const pace =
    r.load.burst > 1 ? `${r.load.burst} requests every ${formatDuration(Math.round((r.load.burst * 1000) / r.load.rate))}` : `${r.load.rate} req/s`;
  out.push(
    `target: ${who} at ${r.target.url}; ${pace} for ${formatDuration(r.load.durationMs)} over ${r.load.connections} connections (${r.load.mix}), timeout ${formatDuration(r.load.timeoutMs)}`,
  );
  out.push('');

  const head = ['t', ...NUMERIC, ...(r.chained ? ['broke at'] : []), 'errors seen'];
  const marks = new Map<number, string[]>();
  for (const ev of r.timeline) {
    const second = Math.floor(ev.atMs / 1000);
    marks.set(second, [...(marks.get(second) ?? []), ev.what + (ev.error ? ` (failed: ${ev.error})` : '')]);
  }
  const body = [...r.rows.map((row) => cells(row, r.chained, marks.get(row.t!) ?? [])), cells(r.total, r.chained, [])];
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const textCols = r.chained ? 2 : 1;
  const line = (c: string[]) =>
    c
      .map((cell, i) => (i >= head.length - textCols ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  out.push(line(head));
  for (const b of body.slice(0, -1)) out.push(line(b));
  out.push(line(body.at(-1)!));

  if (r.total.skipped > 0) {
    out.push('', `skipped ${r.total.skipped} sends: every connection had a request in flight (raise load.connections or lower the rate)`);
  }
  if (r.timeline.length > 0) {
    out.push('', 'timeline:');
    for (const ev of r.timeline) {
      const fired = ev.firedMs === null ? 'never fired' : `fired ${seconds(ev.firedMs)}, done ${seconds(ev.doneMs ?? ev.firedMs)}`;
      out.push(`  ${formatDuration(ev.atMs).padStart(6)}  ${ev.what} (${fired})${ev.error ? `: FAILED ${ev.error}` : ''}`);
    }
  }
  out.push('', 'Proxy-Status chains (client → origin):');
  const w = Math.max(...r.chains.map((c) => String(c.count).length), 1);
  for (const c of r.chains) out.push(`  ${String(c.count).padStart(w)}×  ${c.chain}`);
  if (r.expectations) {
    const failed = r.expectations.filter((e) => !e.ok);
    out.push('', `expect: ${r.expectations.length === 0 ? 'nothing declared' : failed.length === 0 ? 'all met' : `${failed.length} not met`}`);
    for (const e of r.expectations) out.push(`  ${e.ok ? 'ok  ' : 'FAIL'}  ${e.check} (got ${e.actual})`);
  }
  return `${out.join('\n')}\n`;
}

function cells(row: ReportRow, chained: boolean, marks: string[]): string[] {
  const n = (v: number | null) => (v === null ? '-' : v.toFixed(1));
  const c = [
    row.t === null ? 'total' : `${row.t}s`,
    String(row.sent),
    String(row['2xx']),
    String(row['502']),
    String(row['503']),
    String(row['504']),
    String(row.other),
    String(row.connErr),
    n(row.p50Ms),
    n(row.p99Ms),
  ];
  if (chained) c.push(counts(row.brokeAt));
  const errors = counts(row.causes);
  const note = marks.map((m) => `« ${m}`).join(' ');
  c.push([errors, note].filter((s) => s !== '').join('  '));
  return c;
}

export function counts(m: Record<string, number>): string {
  return Object.entries(m)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, v]) => `${k}×${v}`)
    .join(' ');
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(3)}s`;
}
