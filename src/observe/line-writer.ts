import { fstatSync, write, writeSync } from 'node:fs';
import type { RawSink } from './access-log.ts';

/** A batch is written once it holds this much, or MAX_DELAY_MS after its first line (as nginx's `buffer=32k flush=`). */
const BATCH_BYTES = 32 * 1024;
const MAX_DELAY_MS = 50;
/** Room for a batch and the line that completes it. */
const BUFFER_BYTES = 64 * 1024;
/** A full pipe (EAGAIN) is tried again this much later; the lines wait in memory meanwhile. */
const RETRY_MS = 10;
const EXIT_TRIES = 10_000;

/**
 * Access lines, encoded into a buffer as they come (or by their caller, writeEncoded) and
 * written to a file descriptor a batch at a time, in order: at once to a regular file,
 * asynchronously to anything else. Each line is encoded once, into its place: a batch kept
 * as one string had its UTF-8 length counted and then encoded again, for every batch,
 * ~2.5 µs of every request's CPU in the bench's profile.
 */
export class LineWriter implements RawSink {
  private readonly fd: number;
  private readonly onError: (err: NodeJS.ErrnoException) => void;
  private buf = Buffer.allocUnsafe(BUFFER_BYTES);
  private len = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Batches waiting for the write in flight. */
  private readonly queue: Buffer[] = [];
  private writing = false;
  private waiters: (() => void)[] = [];

  /**
   * A regular file takes a batch at once, as nginx writes its buffered access log: written
   * synchronously (~8 µs for 32 KiB here), with no trip through libuv's thread pool, which
   * cost the request path several times that. A pipe, terminal or socket can stall on its
   * reader, and is written asynchronously.
   */
  private readonly sync: boolean;

  constructor(fd: number, onError: (err: NodeJS.ErrnoException) => void) {
    this.fd = fd;
    this.onError = onError;
    let file = false;
    try {
      file = fstatSync(fd).isFile();
    } catch {
      // Not open (yet): the asynchronous path reports what writing to it does.
    }
    this.sync = file;
  }

  write(line: string): boolean {
    // A UTF-16 code unit is at most 3 bytes of UTF-8: with that much room the line fits whole.
    if (this.len + line.length * 3 > this.buf.length) {
      this.cut();
      if (line.length * 3 > this.buf.length) {
        this.enqueue(Buffer.from(line));
        return true;
      }
    }
    this.len += this.buf.write(line, this.len);
    if (this.len >= BATCH_BYTES) this.cut();
    else if (this.timer === null) this.timer = setTimeout(this.cut, MAX_DELAY_MS);
    return true;
  }

  /** A line encoded by the caller into its place: no string is made of it (access-line.ts). */
  writeEncoded<T>(maxBytes: number, encode: (buf: Buffer, off: number, arg: T) => number, arg: T): void {
    if (this.len + maxBytes > this.buf.length) {
      this.cut();
      if (maxBytes > this.buf.length) {
        const own = Buffer.allocUnsafe(maxBytes);
        this.enqueue(own.subarray(0, encode(own, 0, arg)));
        return;
      }
    }
    this.len = encode(this.buf, this.len, arg);
    if (this.len >= BATCH_BYTES) this.cut();
    else if (this.timer === null) this.timer = setTimeout(this.cut, MAX_DELAY_MS);
  }

  /** The lines so far become a batch on its way to the file. */
  private readonly cut = (): void => {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.len === 0) return;
    const batch = this.buf.subarray(0, this.len);
    this.len = 0;
    // A file takes the batch before enqueue returns, so its buffer serves the next lines;
    // otherwise the batch keeps the buffer until it is written and the next lines get a new one.
    if (!this.sync) this.buf = Buffer.allocUnsafe(BUFFER_BYTES);
    this.enqueue(batch);
  };

  private enqueue(batch: Buffer): void {
    // (A file is never written asynchronously, so nothing of it is ever in flight.)
    if (this.sync) {
      this.writeNow(batch);
      return;
    }
    this.queue.push(batch);
    if (!this.writing) this.next();
  }

  private writeNow(batch: Buffer): void {
    try {
      let off = 0;
      while (off < batch.length) off += writeSync(this.fd, batch, off);
    } catch (err) {
      this.onError(err as NodeJS.ErrnoException);
    }
  }

  private next(): void {
    const batch = this.queue.shift();
    if (batch === undefined) {
      this.writing = false;
      for (const w of this.waiters.splice(0)) w();
      return;
    }
    this.writing = true;
    write(this.fd, batch, 0, batch.length, null, (err, n) => {
      if (err) {
        if (err.code === 'EAGAIN') {
          this.queue.unshift(batch);
          setTimeout(() => this.next(), RETRY_MS).unref();
          return;
        }
        this.onError(err);
      } else if (n < batch.length) this.queue.unshift(batch.subarray(n));
      this.next();
    });
  }

  /** Calls back once every line written so far has reached the file. */
  flush(cb: (err?: Error) => void): void {
    this.cut();
    if (this.writing) this.waiters.push(() => cb());
    else cb();
  }

  /**
   * At exit, where only synchronous work runs: what is not yet on its way is written now
   * (after a batch still in flight, if the kernel takes them in that order).
   */
  flushSync(): void {
    this.cut();
    for (const batch of this.queue.splice(0)) {
      let off = 0;
      // A pipe nobody drains would hold the exit forever: a bounded number of tries.
      for (let tries = 0; off < batch.length && tries < EXIT_TRIES; tries++) {
        try {
          off += writeSync(this.fd, batch, off);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        }
      }
    }
  }
}
