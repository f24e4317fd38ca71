import { Aggregator } from './aggregate.ts';
import { CAUSE_INFO } from './causes.ts';
import { LineClassifier } from './classify.ts';
import { detectFormat } from './detect.ts';
import { buildFindings } from './findings.ts';
import { iso } from './timestamps.ts';
import {
  CAUSES,
  type Cause,
  type ErrorCause,
  type FileSummary,
  type LineResult,
  type LogFormat,
  type LogHop,
  type LogInput,
  type LogReport,
  type MinuteCount,
} from './types.ts';

/** One input line as `--lines` prints it. */
export type LineRecord = {
  readonly file: string;
  readonly line: number;
  readonly format: LogFormat;
  readonly time: string | null;
  readonly cause: Cause;
  readonly hop: LogHop | null;
  readonly status: number | null;
  readonly upstream: string | null;
  readonly inferred?: boolean;
  /** Same request as the line before; counted once. */
  readonly repeat?: boolean;
};

export type AnalyzeOptions = {
  /** How far apart (minutes) two logs' lines may be and still tell one story. Default 2. */
  readonly windowMinutes?: number;
  /**
   * Non-empty lines read before deciding an input's format (default 20). A follower
   * passes 1: lines must be explained as they arrive, and every line can still be
   * read by another format's parser when it does not fit the detected one.
   */
  readonly detectSample?: number;
  /** Skip detection and read every input as this format. */
  readonly format?: LogFormat;
  /**
   * Called for every input line, classified or not, in order within each input.
   * Returning a promise pauses reading until it settles (output backpressure).
   */
  readonly onLine?: (record: LineRecord) => void | Promise<void>;
};

const SAMPLE = 20;

type Pending = { text: string; n: number };

async function analyzeInput(input: LogInput, agg: Aggregator, options: AnalyzeOptions): Promise<FileSummary> {
  let n = 0;
  let classified = 0;
  let errors = 0;
  let unrecognized = 0;
  let format: LogFormat = options.format ?? 'unknown';
  let classifier: LineClassifier | undefined = options.format === undefined ? undefined : new LineClassifier(format);
  const pending: Pending[] = [];
  let prevKey: string | undefined;
  let prev: LineResult | undefined;
  const onLine = options.onLine;

  const handle = (text: string, lineNo: number, c: LineClassifier): void | Promise<void> => {
    agg.lines++;
    let r = c.classify(text);
    let repeat = false;
    if (r !== null) {
      classified++;
      // Apache logs one failure as a detailed line and a summary line from the same
      // pid:tid; the summary takes the detail's cause and is not counted again.
      if (r.summary === true && r.requestKey !== undefined && r.requestKey === prevKey && prev !== undefined) {
        repeat = true;
        r = { ...r, cause: prev.cause, hop: prev.hop, status: prev.status };
        agg.repeats++;
        agg.classified++;
      } else {
        agg.add(r, `${input.name}:${lineNo}`, text);
        if (r.cause !== 'not_an_error') errors++;
        if (r.unrecognized === true) unrecognized++;
      }
      if (r.cause !== 'not_an_error') {
        prevKey = r.requestKey;
        prev = r;
      }
    }
    if (onLine !== undefined) {
      return onLine({
        file: input.name,
        line: lineNo,
        format: r === null ? 'unknown' : r.format,
        time: r === null ? null : iso(r.time),
        cause: r === null ? 'not_an_error' : r.cause,
        hop: r === null ? null : r.hop,
        status: r === null ? null : r.status,
        upstream: r === null ? null : r.upstream,
        ...(r?.inferred === true ? { inferred: true } : {}),
        ...(repeat ? { repeat: true } : {}),
      });
    }
  };

  for await (const raw of input.lines) {
    n++;
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (classifier === undefined) {
      pending.push({ text, n });
      if (text.length === 0 || pending.filter((p) => p.text.length > 0).length < (options.detectSample ?? SAMPLE)) {
        continue;
      }
      format = detectFormat(pending.map((p) => p.text));
      classifier = new LineClassifier(format);
      for (const p of pending) await handle(p.text, p.n, classifier);
      pending.length = 0;
      continue;
    }
    const wait = handle(text, n, classifier);
    if (wait !== undefined) await wait;
  }
  if (classifier === undefined) {
    format = detectFormat(pending.map((p) => p.text));
    classifier = new LineClassifier(format);
    for (const p of pending) await handle(p.text, p.n, classifier);
  }
  return { name: input.name, format, lines: n, classified, errors, unrecognized };
}

/** Reads every input line by line (never whole) and explains the errors in them. */
export async function analyzeLogs(inputs: readonly LogInput[], options: AnalyzeOptions = {}): Promise<LogReport> {
  const agg = new Aggregator();
  // Inputs are read side by side, so that a followed input does not starve the others.
  const files = await Promise.all(inputs.map((input) => analyzeInput(input, agg, options)));
  return report(agg, files, (options.windowMinutes ?? 2) * 60_000);
}

export function report(agg: Aggregator, files: FileSummary[], windowMs: number): LogReport {
  const byCause = [...agg.byCause.entries()]
    .sort((a, b) => b[1].count - a[1].count)
    .map(([cause, s]) => ({
      cause,
      hop: CAUSE_INFO[cause].hop,
      count: s.count,
      statuses: Object.fromEntries([...s.statuses].map(([k, v]) => [k === null ? 'none' : String(k), v])),
      formats: [...s.formats],
      firstSeen: iso(s.first),
      lastSeen: iso(s.last),
    }));
  const byUpstream = [...agg.byUpstream.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 20)
    .map(([upstream, count]) => ({ upstream, count }));
  const byMinute: MinuteCount[] = [...agg.byMinute.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([minute, counts]) => {
      const causes: Partial<Record<ErrorCause, number>> = {};
      let count = 0;
      counts.forEach((v, i) => {
        if (v > 0) {
          causes[CAUSES[i] as ErrorCause] = v;
          count += v;
        }
      });
      return { minute: new Date(minute).toISOString(), count, causes };
    });
  return {
    files,
    totals: {
      lines: agg.lines,
      classified: agg.classified,
      errors: agg.errors,
      repeats: agg.repeats,
      unrecognized: agg.unrecognized,
    },
    firstSeen: iso(agg.first),
    lastSeen: iso(agg.last),
    byCause,
    byUpstream,
    byStatus: Object.fromEntries([...agg.byStatus.entries()].sort((a, b) => a[0] - b[0]).map(([k, v]) => [String(k), v])),
    byMinute,
    findings: buildFindings(agg, windowMs),
  };
}
