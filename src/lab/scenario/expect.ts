// A scenario's `expect:` block against a run: what gatewise is known to do today, so that
// `gatewise lab run` and the tests notice when that changes.
import { formatDuration } from '../../config/duration.ts';
import type { RequestRecord } from './load-generator.ts';
import { isFailure, type ExpectationResult, type Report } from './report.ts';
import type { Expectations, Range } from './schema.ts';

export function checkExpectations(e: Expectations, report: Pick<Report, 'total' | 'chains'>, records: readonly RequestRecord[]): ExpectationResult[] {
  const out: ExpectationResult[] = [];
  const t = report.total;
  const inRange = (check: string, actual: number, r: Range) => {
    const ok = (r.min === null || actual >= r.min) && (r.max === null || actual <= r.max);
    out.push({ check: `${check} ${rangeText(r)}`, ok, actual: String(actual) });
  };
  const failures = t.sent - t['2xx'];
  if (e.errors) inRange('errors', failures, e.errors);
  if (e.connErr) inRange('conn err', t.connErr, e.connErr);
  for (const [status, r] of Object.entries(e.status)) {
    const actual = status === '2xx' || status === '502' || status === '503' || status === '504' || status === 'other' ? t[status] : countStatus(records, Number(status));
    inRange(status, actual, r);
  }
  for (const [type, r] of Object.entries(e.proxyStatus)) inRange(type, t.causes[type] ?? 0, r);
  if (e.errorsBetween) {
    const [from, to] = e.errorsBetween;
    const outside = records.filter((r) => isFailure(r) && (r.sentMs < from || r.sentMs >= to));
    const first = outside[0];
    out.push({
      check: `errors only between ${formatDuration(from)} and ${formatDuration(to)}`,
      ok: outside.length === 0,
      actual: first ? `${outside.length} outside, first sent at ${first.sentMs} ms (${first.status ?? first.code})` : 'none outside',
    });
  }
  for (const chain of e.chains) {
    const found = report.chains.find((c) => c.chain === chain);
    out.push({ check: `chain "${chain}" seen`, ok: found !== undefined, actual: found ? `${found.count}×` : 'not seen' });
  }
  return out;
}

function countStatus(records: readonly RequestRecord[], status: number): number {
  return records.filter((r) => r.code === null && r.status === status).length;
}

function rangeText(r: Range): string {
  if (r.min !== null && r.max !== null) return r.min === r.max ? `= ${r.min}` : `in ${r.min}..${r.max}`;
  if (r.min !== null) return `≥ ${r.min}`;
  return `≤ ${r.max}`;
}
