import { STATUS_CODES } from '../../http1/status-codes.ts';
import type { Duplex } from 'node:stream';
import { LAST_CHUNK, writeFramed } from '../../http1/chunked.ts';
import { hasInvalidChar, isToken } from '../../http1/llhttp.ts';
import { type HeldWrites, sendAfterPoll } from '../../http1/write-batch.ts';

/** Headers as the pipeline gives them: a flat [name, value, …] list, or by name. */
export type OutgoingHeaders = string[] | Record<string, string | number | string[] | undefined>;

/** The connection a response belongs to: told when it is complete, to go on to the next request. */
export type ResponseOwner = {
  /** Announced as Keep-Alive: timeout=N on a connection kept open; 0: not announced. */
  readonly keepAliveSeconds: number;
  /** The response is written whole (or its connection is gone). */
  responseDone(res: H1Response): void;
};

export type ResponseOptions = {
  readonly method: string;
  /** The client's HTTP/1 minor version: 1.0 clients get no chunked framing. */
  readonly minor: number;
  readonly keepAlive: boolean;
};

type Listener = () => void;

const LENGTH = 1;
const FRAMED = 2;
const DATE = 4;
const CONNECTION = 8;
const KEEP_ALIVE = 16;

/**
 * One HTTP/1.1 response, written straight to the client's socket: the head when the first
 * body bytes go (one write for both), the body framed by Content-Length when the pipeline
 * gives one, chunked otherwise (close-delimited for an HTTP/1.0 client). The members are the
 * ones the pipeline uses of node:http's ServerResponse, with the same meaning.
 */
export class H1Response implements HeldWrites {
  statusCode = 200;
  headersSent = false;
  writableFinished = false;
  destroyed = false;
  readonly socket: Duplex;
  private readonly owner: ResponseOwner;
  private readonly opts: ResponseOptions;
  private keepAlive: boolean;
  private head: string | null = null;
  private chunked = false;
  private bodyless: boolean;
  private corked = false;
  private closeListeners: Listener[] | null = null;
  /** Which of the fields that decide framing and connection the head has (LENGTH, FRAMED, …). */
  private seen = 0;
  private validated = false;

  constructor(socket: Duplex, owner: ResponseOwner, opts: ResponseOptions) {
    this.socket = socket;
    this.owner = owner;
    this.opts = opts;
    this.keepAlive = opts.keepAlive;
    this.bodyless = opts.method === 'HEAD';
  }

  /** Whether the connection stays open for another request after this response. */
  get keptAlive(): boolean {
    return this.keepAlive;
  }

  /**
   * `validated`: every name and value is known to be valid HTTP (llhttp parsed them from the
   * origin, which allows exactly the characters node:http allows, or the gateway made them),
   * so they are not checked a second time.
   */
  writeHead(status: number, message?: string | OutgoingHeaders, headers?: OutgoingHeaders, validated = false): this {
    if (this.headersSent) throw Object.assign(new Error('Cannot write headers after they are sent to the client'), { code: 'ERR_HTTP_HEADERS_SENT' });
    let reason: string;
    if (typeof message === 'string') {
      if (hasInvalidChar(message)) throw invalidChar('status message', message);
      reason = message;
    } else {
      headers = message;
      reason = STATUS_CODES[status] ?? 'unknown';
    }
    let text = '';
    this.seen = 0;
    this.validated = validated;
    if (headers !== undefined) {
      if (Array.isArray(headers)) {
        const list = headers as string[];
        for (let i = 0; i < list.length; i += 2) text += this.field(list[i]!, String(list[i + 1]));
      } else {
        const byName = headers as Record<string, string | number | string[] | undefined>;
        for (const name in byName) {
          const v = byName[name];
          if (v === undefined) continue;
          if (Array.isArray(v)) for (const one of v as string[]) text += this.field(name, one);
          else text += this.field(name, String(v));
        }
      }
    }
    const length = (this.seen & LENGTH) !== 0;
    // 1xx, 204 and 304 never have a body; a HEAD's is the one it would have had, unsent.
    if (status < 200 || status === 204 || status === 304) this.bodyless = true;
    if (!this.bodyless && !length) {
      if ((this.seen & FRAMED) !== 0) this.chunked = true;
      else if (this.opts.minor >= 1) {
        this.chunked = true;
        text += 'transfer-encoding: chunked\r\n';
      } else this.keepAlive = false;
    }
    if ((this.seen & CONNECTION) === 0) {
      if (!this.keepAlive) text += 'connection: close\r\n';
      else {
        text += 'connection: keep-alive\r\n';
        if ((this.seen & KEEP_ALIVE) === 0 && this.owner.keepAliveSeconds > 0) text += `keep-alive: timeout=${this.owner.keepAliveSeconds}\r\n`;
      }
    }
    if ((this.seen & DATE) === 0) text += `date: ${httpDate()}\r\n`;
    this.statusCode = status;
    this.head = `HTTP/1.1 ${status} ${reason}\r\n${text}\r\n`;
    this.headersSent = true;
    return this;
  }

  /** One field line, checked as node:http checks it; notes the fields that decide the framing. */
  private field(name: string, value: string): string {
    if (!this.validated) {
      if (!isToken(name)) throw Object.assign(new TypeError(`Header name must be a valid HTTP token ["${name}"]`), { code: 'ERR_INVALID_HTTP_TOKEN' });
      if (hasInvalidChar(value)) throw invalidChar('header content', name);
    }
    const n = name.length;
    if (n === 4 || n === 10 || n === 14 || n === 17) {
      const lower = name.toLowerCase();
      if (lower === 'content-length') this.seen |= LENGTH;
      else if (lower === 'transfer-encoding') this.seen |= FRAMED;
      else if (lower === 'date') this.seen |= DATE;
      else if (lower === 'keep-alive') this.seen |= KEEP_ALIVE;
      else if (lower === 'connection') {
        this.seen |= CONNECTION;
        if (/\bclose\b/i.test(value)) this.keepAlive = false;
      }
    }
    return `${name}: ${value}\r\n`;
  }

  /** Writes body bytes; false when the socket is full (wait for 'drain'). */
  write(chunk: Buffer | string): boolean {
    if (this.writableFinished || this.destroyed) return false;
    if (!this.headersSent) this.writeHead(this.statusCode);
    const s = this.socket;
    if (!this.corked) {
      this.corked = true;
      s.cork();
      sendAfterPoll(this, 'to-client');
    }
    // The head goes with the first chunk (usually the whole body), in one buffer.
    const head = this.head ?? '';
    this.head = null;
    const size = this.bodyless ? 0 : typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    if (size === 0) {
      if (head.length > 0) s.write(head, 'latin1');
      return true;
    }
    const ok = writeFramed(s, head, chunk, size, this.chunked);
    // A body past the socket's buffer goes out now, as unheld: held, a large body would move
    // one buffer a loop turn (its sender waits for 'drain', which waits for the send).
    if (!ok) this.sendHeldWrites();
    return ok;
  }

  end(chunk?: Buffer | string): this {
    if (this.writableFinished || this.destroyed) return this;
    if (!this.headersSent) {
      const n = chunk === undefined ? 0 : typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
      this.writeHead(this.statusCode, ['content-length', String(n)]);
    }
    const s = this.socket;
    if (!this.corked && this.head !== null && typeof chunk === 'string' && !this.chunked) {
      // The commonest end of all (an error page, a redirect): head and body in one write.
      s.write(this.bodyless ? this.head : this.head + chunk);
      this.head = null;
    } else {
      if (chunk !== undefined) this.write(chunk);
      else if (this.head !== null) {
        s.write(this.head, 'latin1');
        this.head = null;
      }
      if (this.chunked && !this.bodyless) s.write(LAST_CHUNK, 'latin1');
    }
    this.writableFinished = true;
    this.owner.responseDone(this);
    this.emitClose();
    return this;
  }

  /** Aborts the response: the connection is closed, so the client cannot take a cut body for a whole one. */
  destroy(_err?: Error): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    // What is held for the end of the poll phase (this answer's start, or a whole answer
    // before it on the connection) goes to the kernel first, as it would have unheld.
    const s = this.socket;
    while (s.writableCorked > 0) s.uncork();
    s.destroy();
    return this;
  }

  /** Once, when the response is over: written whole (writableFinished) or cut short. */
  on(_event: 'close', listener: Listener): this {
    if (this.closeListeners === null) this.closeListeners = [listener];
    else this.closeListeners.push(listener);
    return this;
  }

  /** Once, when the client's socket can take more. */
  once(_event: 'drain', listener: Listener): this {
    this.socket.once('drain', listener);
    return this;
  }

  /** Sends what writes of this tick gathered (they go out as one writev). */
  sendHeldWrites(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  }

  /** The response is over, written whole or cut by its connection's end: 'close' listeners run once. */
  private emitClose(): void {
    const listeners = this.closeListeners;
    if (listeners === null) return;
    this.closeListeners = null;
    for (const l of listeners) l();
  }

  /** The connection went away before the response was complete. */
  lost(): void {
    this.destroyed = true;
    this.emitClose();
  }
}

function invalidChar(what: string, name: string): TypeError {
  return Object.assign(new TypeError(`Invalid character in ${what} ["${name}"]`), { code: 'ERR_INVALID_CHAR' });
}

let dateSecond = 0;
let dateText = '';

/** The Date field, made once a second. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}
