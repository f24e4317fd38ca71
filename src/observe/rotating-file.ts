import { existsSync, renameSync, statSync } from 'node:fs';
import { readdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import pino from 'pino';
import type { LogRotate } from '../config/schema.ts';

type Boom = ReturnType<typeof pino.destination>;

export type RotatingOptions = LogRotate & {
  readonly file: string;
  /** The clock, for tests of daily rotation. */
  readonly now?: () => number;
  readonly onError?: (err: unknown) => void;
};

const DAY_MS = 86_400_000;

/**
 * A file destination for the access log that rotates by size or at midnight UTC, keeping
 * `keep` old files. It counts bytes as pino hands them over and, when a limit is reached,
 * renames the file and asks sonic-boom to reopen the path: the asynchronous writer keeps
 * its buffer and order, and a line is never split between two files. Rotated files are
 * named for the day they cover (`access.log.2026-11-24`) or the moment a size rotation
 * happened (`access.log.2026-11-25T14-10-33Z`); the oldest beyond `keep` are deleted.
 */
export class RotatingFile {
  private readonly o: RotatingOptions;
  private readonly boom: Boom;
  private readonly now: () => number;
  private size: number;
  /** Start (UTC midnight) of the day the current file covers. */
  private day: number;
  /** Until sonic-boom has (re)opened the path, there is no file there to rename. */
  private opening = true;
  /** Prunes run one after another, so two never delete the same file. */
  private pruning: Promise<void> = Promise.resolve();

  constructor(o: RotatingOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
    let existing = existsSync(o.file) ? statSync(o.file) : null;
    this.day = startOfDay(this.now());
    // A file left by an earlier run that is already due goes aside before it is reopened.
    if (existing && existing.size > 0) {
      const day = startOfDay(existing.mtimeMs);
      const due = (o.daily && day < this.day) || (o.sizeBytes !== null && existing.size >= o.sizeBytes);
      if (due && this.moveAside(day < this.day ? isoDay(day) : isoSecond(this.now()))) existing = null;
    }
    this.size = existing?.size ?? 0;
    // Written line by line, not in batches (logger.ts): a batch in the buffer at a rotation would land in the next file.
    this.boom = pino.destination({ dest: o.file, sync: false, mkdir: true, append: true });
    this.boom.on('error', (err: unknown) => o.onError?.(err));
    this.boom.on('ready', () => {
      this.opening = false;
    });
  }

  write(chunk: string): boolean {
    const bytes = Buffer.byteLength(chunk);
    const now = this.now();
    const overSize = this.o.sizeBytes !== null && this.size > 0 && this.size + bytes > this.o.sizeBytes;
    const newDay = this.o.daily && now >= this.day + DAY_MS;
    // While the file is (re)opening there is nothing to rename; the next line checks again.
    if ((overSize || newDay) && !this.opening) this.rotate(newDay ? isoDay(this.day) : isoSecond(now), now);
    this.size += bytes;
    return this.boom.write(chunk);
  }

  flush(cb: (err?: Error) => void): void {
    if (this.opening) this.boom.once('ready', () => this.boom.flush(cb));
    else this.boom.flush(cb);
  }

  /** Writes what is pending before this call returns; for the process's last moment. */
  flushSync(): void {
    if (!this.opening) this.boom.flushSync();
  }

  end(): void {
    if (this.opening) this.boom.once('ready', () => this.boom.end());
    else this.boom.end();
  }

  private rotate(stamp: string, now: number): void {
    if (this.moveAside(stamp)) {
      this.opening = true;
      this.boom.reopen();
    }
    this.size = 0;
    this.day = startOfDay(now);
  }

  /**
   * Renames the file for its period. A rename that fails (the file was moved away by hand)
   * must not lose lines: writing goes on where it is, and the next limit tries again.
   */
  private moveAside(stamp: string): boolean {
    try {
      let target = `${this.o.file}.${stamp}`;
      for (let n = 1; existsSync(target); n++) target = `${this.o.file}.${stamp}.${n}`;
      renameSync(this.o.file, target);
    } catch (err) {
      this.o.onError?.(err);
      return false;
    }
    this.pruning = this.pruning.then(() => this.prune()).catch((err: unknown) => this.o.onError?.(err));
    return true;
  }

  /** Deletes the oldest rotated files beyond `keep`, by modification time. */
  private async prune(): Promise<void> {
    const dir = dirname(this.o.file);
    const prefix = `${basename(this.o.file)}.`;
    const names = (await readdir(dir)).filter((n) => n.startsWith(prefix) && /^\d{4}-\d{2}-\d{2}/.test(n.slice(prefix.length)));
    if (names.length <= this.o.keep) return;
    const dated = await Promise.all(names.map(async (n) => ({ n, t: (await stat(join(dir, n))).mtimeMs })));
    dated.sort((a, b) => a.t - b.t || a.n.localeCompare(b.n));
    await Promise.all(
      dated.slice(0, dated.length - this.o.keep).map((d) =>
        unlink(join(dir, d.n)).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        }),
      ),
    );
  }
}

function startOfDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function isoSecond(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replaceAll(':', '-')}Z`;
}
