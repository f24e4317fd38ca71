// `gatewise doctor logs FILE...`: reads server logs and says why users got errors.

import { accessSync, constants } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { analyzeLogs, type LineRecord, type LogInput, renderReport } from '../doctor/logs/index.ts';
import { fileLines, followLines, streamLines } from '../doctor/logs/read-lines.ts';
import { LOG_FORMATS, type LogFormat } from '../doctor/logs/types.ts';

const USAGE = `Usage: gatewise doctor logs [options] FILE...

Reads nginx (error and access), Apache, PHP-FPM, HAProxy, Caddy, Traefik and
gatewise logs, classifies every line and explains the errors, with fixes.
FILE "-" reads standard input. Files are streamed: any size works.

Options:
  --lines          one row per line about an error (with --json: one JSON object per input line)
  --json           the whole report as JSON
  --follow, -f     keep reading appended lines; print errors as they come, the report on Ctrl-C
  --format FORMAT  skip detection: ${LOG_FORMATS.join(', ')}
  --window MIN     minutes within which lines of two logs tell one story (default 2)
  --help, -h       this text

Exit status: 0 no errors found, 1 findings, 2 usage error.
`;

export type DoctorLogsIO = {
  readonly stdin?: Readable;
  readonly stdout?: Writable;
  readonly stderr?: Writable;
  /** Ends --follow (the CLI aborts it on SIGINT). */
  readonly signal?: AbortSignal;
};

/** Buffers output and pauses the reader when the destination is slow. */
class Out {
  private chunks: string[] = [];
  private size = 0;
  private readonly dest: Writable;
  /** Bytes to gather before writing; 0 when following, so errors show as they happen. */
  private readonly batch: number;

  constructor(dest: Writable, batch: number) {
    this.dest = dest;
    this.batch = batch;
  }

  write(s: string): void | Promise<void> {
    this.chunks.push(s);
    this.size += s.length;
    if (this.size >= this.batch) return this.flush();
  }

  flush(): void | Promise<void> {
    if (this.chunks.length === 0) return;
    const ok = this.dest.write(this.chunks.join(''));
    this.chunks = [];
    this.size = 0;
    if (!ok) return new Promise((resolve) => this.dest.once('drain', () => resolve()));
  }
}

function lineJson(r: LineRecord): string {
  return `${JSON.stringify({
    file: r.file,
    line: r.line,
    format: r.format,
    ...(r.time === null ? {} : { time: r.time }),
    cause: r.cause,
    hop: r.hop,
    status: r.status,
    ...(r.upstream === null ? {} : { upstream: r.upstream }),
    ...(r.inferred === true ? { inferred: true } : {}),
    ...(r.repeat === true ? { repeat: true } : {}),
  })}\n`;
}

function lineText(r: LineRecord): string {
  return `${r.file}:${r.line}  ${r.time?.slice(0, 19).replace('T', ' ') ?? '-'}  ${r.cause}  hop=${r.hop}  status=${r.status ?? '-'}${r.upstream === null ? '' : `  upstream=${r.upstream}`}${r.inferred === true ? '  (inferred)' : ''}\n`;
}

export async function doctorLogsCommand(argv: string[], io: DoctorLogsIO = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  let values: { lines?: boolean; json?: boolean; follow?: boolean; format?: string; window?: string; help?: boolean };
  let files: string[];
  try {
    const parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        lines: { type: 'boolean' },
        json: { type: 'boolean' },
        follow: { type: 'boolean', short: 'f' },
        format: { type: 'string' },
        window: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    values = parsed.values;
    files = parsed.positionals;
  } catch (e) {
    stderr.write(`gatewise doctor logs: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    stdout.write(USAGE);
    return 0;
  }
  const usage = (msg: string): number => {
    stderr.write(`gatewise doctor logs: ${msg}\n\n${USAGE}`);
    return 2;
  };
  if (files.length === 0) return usage('name at least one log file, or - for standard input');
  if (values.format !== undefined && !(LOG_FORMATS as readonly string[]).includes(values.format)) {
    return usage(`unknown format "${values.format}"`);
  }
  const windowMinutes = values.window === undefined ? 2 : Number(values.window);
  if (!Number.isFinite(windowMinutes) || windowMinutes < 0) return usage(`--window must be a number of minutes`);
  if (files.filter((f) => f === '-').length > 1) return usage('standard input (-) can be read only once');
  for (const f of files) {
    if (f === '-') continue;
    try {
      accessSync(f, constants.R_OK);
    } catch {
      return usage(`cannot read ${f}`);
    }
  }

  // --follow runs until Ctrl-C (or the caller's signal), then reports.
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  if (values.follow === true && io.signal === undefined) process.once('SIGINT', onSigint);
  io.signal?.addEventListener('abort', () => controller.abort(), { once: true });
  const signal = controller.signal;

  const inputs: LogInput[] = files.map((f) => ({
    name: f === '-' ? '(stdin)' : f,
    lines:
      f === '-'
        ? streamLines(io.stdin ?? process.stdin, values.follow === true ? signal : undefined)
        : values.follow === true
          ? followLines(f, signal)
          : fileLines(f),
  }));

  const out = new Out(stdout, values.follow === true ? 0 : 1 << 16);
  const json = values.json === true;
  const perLine = values.lines === true || values.follow === true;
  const onLine = !perLine
    ? undefined
    : json
      ? (r: LineRecord) => out.write(lineJson(r))
      : (r: LineRecord) => (r.cause === 'not_an_error' || r.repeat === true ? undefined : out.write(lineText(r)));
  const format = values.format as LogFormat | undefined;
  try {
    const report = await analyzeLogs(inputs, {
      windowMinutes,
      ...(values.follow === true ? { detectSample: 1 } : {}),
      ...(format === undefined ? {} : { format }),
      ...(onLine === undefined ? {} : { onLine }),
    });
    if (values.lines !== true || values.follow === true) {
      await out.write(json ? `${JSON.stringify(report, null, 2)}\n` : `${perLine ? '\n' : ''}${renderReport(report)}`);
    }
    await out.flush();
    return report.findings.length > 0 ? 1 : 0;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
