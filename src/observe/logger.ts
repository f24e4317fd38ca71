import { createWriteStream, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import { type AccessOutput, LineBatcher } from './access-log.ts';
import { LineWriter } from './line-writer.ts';
import { RotatingFile } from './rotating-file.ts';

export type Loggers = {
  /** One line per request. */
  readonly access: Logger;
  /** Where the request path writes its access lines (the same destination as `access`). */
  readonly accessOutput: AccessOutput;
  /** Gateway events: start, stop, configuration, internal errors. */
  readonly events: Logger;
  /** Flushes buffered lines. */
  flush(): Promise<void>;
  /** Flushes buffered lines and stops guarding them at exit (on stop). */
  close(): Promise<void>;
};

type Sink = { flush?: (cb: (err?: Error) => void) => void; flushSync?: () => void };

/**
 * What each live set of loggers must still write when the process exits, however it exits
 * (an uncaught error included): one 'exit' listener for all of them, so gateways started and
 * stopped in one process do not pile up listeners.
 */
const atExit = new Set<() => void>();
let exitHooked = false;

function guardAtExit(lastWrite: () => void): () => void {
  atExit.add(lastWrite);
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', () => {
      for (const f of atExit) f();
    });
  }
  return () => atExit.delete(lastWrite);
}

type Pretty = typeof import('pino-pretty');

/** pino-pretty only for a terminal: a gateway logging JSON to a file or a pipe never loads it. */
function pretty(...args: Parameters<Pretty>): ReturnType<Pretty> {
  const load = createRequire(import.meta.url)('pino-pretty') as Pretty;
  return load(...args);
}

function wantsPretty(format: Config['log']['format'], stream: NodeJS.WriteStream): boolean {
  return format === 'pretty' || (format === 'auto' && stream.isTTY === true);
}

export type LoggerOverrides = {
  /** Where access lines go instead of the configured destination (tests read them). */
  readonly accessStream?: Writable;
  readonly eventStream?: Writable;
};

/**
 * Event lines through pino, written at once (they are few); access lines built by the
 * gateway and written in 32 KiB batches (LineWriter: at once to a file, asynchronously to
 * a pipe); both human-readable through pino-pretty when the terminal is interactive.
 */
export function createLoggers(log: Config['log'], overrides: LoggerOverrides = {}): Loggers {
  const base = { base: null, timestamp: pino.stdTimeFunctions.isoTime, level: log.level } as const;
  const sinks: Sink[] = [];

  let accessDest: pino.DestinationStream;
  // How request lines reach accessDest: built by the gateway and written in batches (the
  // usual case), built by the gateway one by one, through pino (pino-pretty), or not at all.
  let lines: 'batched' | 'one-by-one' | 'pino' | 'off' = 'batched';
  const writer = (fd: number): LineWriter => {
    const w = new LineWriter(fd, (err) => events.warn({ err }, 'access log write failed'));
    sinks.push(w);
    return w;
  };
  if (overrides.accessStream) accessDest = overrides.accessStream;
  else if (log.access === 'off') {
    accessDest = createWriteStream('/dev/null');
    lines = 'off';
  } else if (typeof log.access === 'object' && log.rotate) {
    const d = new RotatingFile({ file: log.access.file, ...log.rotate, onError: (err) => events.warn({ err }, 'access log rotation failed') });
    sinks.push(d);
    accessDest = d;
    // A batch would be checked against the rotation limits as one write.
    lines = 'one-by-one';
  } else if (typeof log.access === 'object') {
    mkdirSync(dirname(log.access.file), { recursive: true });
    accessDest = writer(openSync(log.access.file, 'a'));
  } else {
    const std = log.access === 'stdout' ? process.stdout : process.stderr;
    if (wantsPretty(log.format, std)) {
      accessDest = pretty({ colorize: true, sync: true, destination: std, ignore: 'time' });
      lines = 'pino';
    } else accessDest = writer(log.access === 'stdout' ? 1 : 2);
  }

  let eventDest: pino.DestinationStream;
  if (overrides.eventStream) eventDest = overrides.eventStream;
  else if (wantsPretty(log.format, process.stderr)) eventDest = pretty({ colorize: true, sync: true, destination: 2 });
  else eventDest = pino.destination({ dest: 2, sync: true });

  const access = pino({ ...base, level: 'info', messageKey: 'msg' }, accessDest);
  const events = pino(base, eventDest);
  // A test's stream takes its lines in batches too, as a file does.
  const batcher = lines === 'batched' && overrides.accessStream ? new LineBatcher(accessDest) : null;
  const accessOutput: AccessOutput =
    lines === 'off' ? { kind: 'off' } : lines === 'pino' ? { kind: 'pino', log: access } : { kind: 'raw', sink: batcher ?? accessDest };
  // On 'exit' only synchronous work runs: the batch is handed over and written at once.
  const unguard = guardAtExit(() => {
    batcher?.flush();
    for (const s of sinks) {
      try {
        s.flushSync?.();
      } catch {
        // Not open yet, or already closed: nothing of ours to write.
      }
    }
  });
  const flush = (): Promise<void> => {
    batcher?.flush();
    return Promise.all(
      sinks.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (!s.flush) resolve();
            else
              try {
                s.flush(() => resolve());
              } catch {
                resolve();
              }
          }),
      ),
    ).then(() => undefined);
  };
  return {
    access,
    accessOutput,
    events,
    flush,
    close: () => {
      unguard();
      return flush();
    },
  };
}
