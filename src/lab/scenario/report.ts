import type { OriginStats } from '../origin.ts';
// What users saw, per second of the run and in total: every request lands in exactly one of
// 2xx, 502, 503, 504, other or conn err, so the columns of a row add up to `sent`.
import type { ChainMember, RequestRecord } from './load-generator.ts';
import type { TimelineEvent } from './timeline.ts';

export type ReportRow = {
  /** The second of the run (by send time); null for the total. */
  t: number | null;
  sent: number;
  '2xx': number;
  '502': number;
  '503': number;
  '504': number;
  other: number;
  connErr: number;
  /** Sends skipped because too many requests were in flight: not in `sent`. */
  skipped: number;
  /** The Proxy-Status error of the hop that broke, or the client's error code, with counts. */
  causes: Record<string, number>;
  /** Name of the hop that broke (the innermost Proxy-Status member with an error), with counts. */
  brokeAt: Record<string, number>;
  p50Ms: number | null;
  p99Ms: number | null;
};

export type ChainCount = { chain: string; count: number };

export type Report = {
  scenario: string;
  description: string;
  file: string | null;
  target: { kind: 'gatewise' | 'proxy'; name: string; url: string };
  load: { rate: number; burst: number; durationMs: number; connections: number; timeoutMs: number; mix: string };
  timeline: TimelineEvent[];
  rows: ReportRow[];
  total: ReportRow;
  /** Distinct Proxy-Status chains as printed (client first), most frequent first. */
  chains: ChainCount[];
  /** More than one Proxy-Status member was seen: the table shows which hop broke. */
  chained: boolean;
  /** The scenario's `expect:` checked against this run; null when the target is not gatewise. */
  expectations: ExpectationResult[] | null;
  requests: RequestRecord[];
  /** What each origin saw by the end of the run (connections, requests, peak queue, …). */
  origins: Record<string, OriginStats>;
};

export type ExpectationResult = { check: string; ok: boolean; actual: string };

export type Outcome = '2xx' | '502' | '503' | '504' | 'other' | 'connErr';

export function outcomeOf(r: RequestRecord): Outcome {
  if (r.code !== null) return 'connErr';
  const s = r.status!;
  if (s >= 200 && s < 300) return '2xx';
  if (s === 502 || s === 503 || s === 504) return String(s) as '502' | '503' | '504';
  return 'other';
}

export function isFailure(r: RequestRecord): boolean {
  return outcomeOf(r) !== '2xx';
}

/** The member closest to the origin that reports an error: the hop that broke. */
export function brokenMember(chain: readonly ChainMember[]): ChainMember | null {
  return chain.find((m) => m.error !== null) ?? null;
}

/** Client first, as a user reads a path: `edge: ok → gw: connection_refused`. */
export function chainText(r: RequestRecord): string {
  if (r.chain.length === 0) return r.code !== null && r.status === null ? `(no response: ${r.code})` : `(no Proxy-Status) ${r.status}`;
  const text = r.chain
    .toReversed()
    .map((m) => `${m.name}: ${m.error ?? 'ok'}`)
    .join(' → ');
  return r.code !== null ? `${text} (then ${r.code})` : text;
}

export function causeOf(r: RequestRecord): string | null {
  if (r.code !== null) return r.code;
  return brokenMember(r.chain)?.error ?? null;
}

export function summarize(records: readonly RequestRecord[], skipped: readonly number[], seconds: number): Pick<Report, 'rows' | 'total' | 'chains' | 'chained'> {
  const rows = Array.from({ length: seconds }, (_, t) => emptyRow(t));
  const total = emptyRow(null);
  const latencies: number[][] = rows.map(() => []);
  const chains = new Map<string, number>();
  for (const r of records) {
    const row = rows[r.second] ?? rows.at(-1)!;
    for (const x of [row, total]) add(x, r);
    latencies[row.t!]!.push(r.latencyMs);
    const c = chainText(r);
    chains.set(c, (chains.get(c) ?? 0) + 1);
  }
  skipped.forEach((n, t) => {
    const row = rows[t];
    if (row) row.skipped += n;
    total.skipped += n;
  });
  rows.forEach((row, t) => {
    const sorted = latencies[t]!.sort((a, b) => a - b);
    row.p50Ms = percentile(sorted, 0.5);
    row.p99Ms = percentile(sorted, 0.99);
  });
  const all = records.map((r) => r.latencyMs).sort((a, b) => a - b);
  total.p50Ms = percentile(all, 0.5);
  total.p99Ms = percentile(all, 0.99);
  return {
    rows,
    total,
    chains: [...chains].map(([chain, count]) => ({ chain, count })).sort((a, b) => b.count - a.count || a.chain.localeCompare(b.chain)),
    chained: records.some((r) => r.chain.length > 1),
  };
}

function emptyRow(t: number | null): ReportRow {
  return { t, sent: 0, '2xx': 0, '502': 0, '503': 0, '504': 0, other: 0, connErr: 0, skipped: 0, causes: {}, brokeAt: {}, p50Ms: null, p99Ms: null };
}

function add(row: ReportRow, r: RequestRecord): void {
  row.sent++;
  row[outcomeOf(r)]++;
  if (!isFailure(r)) return;
  const cause = causeOf(r);
  if (cause !== null) row.causes[cause] = (row.causes[cause] ?? 0) + 1;
  const hop = brokenMember(r.chain);
  if (hop) row.brokeAt[hop.name] = (row.brokeAt[hop.name] ?? 0) + 1;
}

/** Nearest rank: a value some request really had, never an interpolation. */
function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}
