// Running totals over every line, in memory bounded by the number of causes,
// distinct upstreams (capped) and minutes with errors, never by the number of lines.

import { CAUSE_INDEX, CAUSE_INFO, isErrorCause } from './causes.ts';
import { CAUSES, type ErrorCause, type KnownLogFormat, type LineResult } from './types.ts';

const MAX_UPSTREAMS = 10_000;
const MAX_SAMPLES = 3;
const MAX_SAMPLE_CHARS = 400;

export type CauseStats = {
  count: number;
  statuses: Map<number | null, number>;
  formats: Set<KnownLogFormat>;
  upstreams: Map<string, number>;
  first: number | null;
  last: number | null;
  samples: string[];
};

export type FpmFacts = {
  /** Pool name → the largest pm.max_children it reported. */
  maxChildren: Map<string, number>;
  terminatedSecs: number[];
};

export class Aggregator {
  lines = 0;
  classified = 0;
  errors = 0;
  repeats = 0;
  unrecognized = 0;
  first: number | null = null;
  last: number | null = null;
  readonly byCause = new Map<ErrorCause, CauseStats>();
  readonly byUpstream = new Map<string, number>();
  readonly byStatus = new Map<number, number>();
  /** Minute (epoch ms) → counts per cause, indexed by CAUSE_INDEX. */
  readonly byMinute = new Map<number, Uint32Array>();
  readonly fpm: FpmFacts = { maxChildren: new Map(), terminatedSecs: [] };

  add(r: LineResult, where: string, raw: string): void {
    this.classified++;
    if (r.unrecognized === true) this.unrecognized++;
    if (r.status !== null && r.status >= 400) this.byStatus.set(r.status, (this.byStatus.get(r.status) ?? 0) + 1);
    const cause = r.cause;
    if (!isErrorCause(cause)) return;
    this.errors++;
    let s = this.byCause.get(cause);
    if (s === undefined) {
      s = { count: 0, statuses: new Map(), formats: new Set(), upstreams: new Map(), first: null, last: null, samples: [] };
      this.byCause.set(cause, s);
    }
    s.count++;
    s.statuses.set(r.status, (s.statuses.get(r.status) ?? 0) + 1);
    s.formats.add(r.format);
    if (s.samples.length < MAX_SAMPLES) s.samples.push(`${where}: ${raw.slice(0, MAX_SAMPLE_CHARS)}`);
    if (r.upstream !== null) {
      if (this.byUpstream.has(r.upstream) || this.byUpstream.size < MAX_UPSTREAMS) {
        this.byUpstream.set(r.upstream, (this.byUpstream.get(r.upstream) ?? 0) + 1);
      }
      if (s.upstreams.has(r.upstream) || s.upstreams.size < 100) {
        s.upstreams.set(r.upstream, (s.upstreams.get(r.upstream) ?? 0) + 1);
      }
    }
    const t = r.time;
    if (t !== null) {
      if (s.first === null || t < s.first) s.first = t;
      if (s.last === null || t > s.last) s.last = t;
      if (this.first === null || t < this.first) this.first = t;
      if (this.last === null || t > this.last) this.last = t;
      const minute = t - (t % 60_000);
      let counts = this.byMinute.get(minute);
      if (counts === undefined) {
        counts = new Uint32Array(CAUSES.length);
        this.byMinute.set(minute, counts);
      }
      const i = CAUSE_INDEX.get(cause) as number;
      counts[i] = (counts[i] as number) + 1;
    }
    if (cause === 'fpm_pool_exhausted' && r.pool !== undefined && r.limit !== undefined) {
      this.fpm.maxChildren.set(r.pool, Math.max(r.limit, this.fpm.maxChildren.get(r.pool) ?? 0));
    }
    if (cause === 'fpm_request_terminated' && r.elapsedSec !== undefined && this.fpm.terminatedSecs.length < 10_000) {
      this.fpm.terminatedSecs.push(r.elapsedSec);
    }
  }

  /** Lines of `cause` in minutes within `windowMs` of a minute that has `near`. */
  countNear(cause: ErrorCause, near: ErrorCause, windowMs: number): { count: number; minutes: number[] } {
    const ci = CAUSE_INDEX.get(cause) as number;
    const ni = CAUSE_INDEX.get(near) as number;
    const anchors: number[] = [];
    for (const [minute, counts] of this.byMinute) if ((counts[ni] as number) > 0) anchors.push(minute);
    anchors.sort((a, b) => a - b);
    let count = 0;
    const minutes: number[] = [];
    if (anchors.length === 0) return { count, minutes };
    for (const [minute, counts] of this.byMinute) {
      const n = counts[ci] as number;
      if (n === 0) continue;
      if (nearest(anchors, minute) <= windowMs) {
        count += n;
        minutes.push(minute);
      }
    }
    return { count, minutes };
  }
}

function nearest(sorted: number[], t: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  const a = Math.abs((sorted[lo] as number) - t);
  const b = lo > 0 ? Math.abs((sorted[lo - 1] as number) - t) : Number.POSITIVE_INFINITY;
  return Math.min(a, b);
}

export function defaultHop(cause: ErrorCause) {
  return CAUSE_INFO[cause].hop;
}
