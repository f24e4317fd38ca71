import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { errors } from '../undici-parts.ts';
import { type HeadersComplete, type ParseError, type Parser, attachParser, detachParser, newParser, resetParser, setReading } from '../../http1/llhttp.ts';
import { LAST_CHUNK, writeChunk, writeFramed } from '../../http1/chunked.ts';
import { type HeldWrites, sendAfterPoll } from '../../http1/write-batch.ts';
import { markSocketClosing, markSocketIdle, markSocketPromised, readsOwnBuffer, type SocketReader, setSocketReader } from '../connector.ts';
import type { Exchange } from './exchange.ts';

/** What a connection needs of its pool. */
export type ConnectionOwner = {
  /** The Host a request goes with when it carries none (the endpoint's host:port, as a URL writes it). */
  readonly host: string;
  readonly maxHeaderBytes: number;
  /** Response bodies over this many bytes end the exchange; null: no limit. */
  readonly maxResponseBytes: number | null;
  /** The connection can take another request (kept alive after a complete exchange). */
  release(conn: UpstreamConnection): void;
  /** The connection is closed (by either side): it no longer counts toward the pool's limit. */
  closed(conn: UpstreamConnection): void;
};

type Headers = Record<string, string | string[]>;

/**
 * One keep-alive HTTP/1.1 connection to an origin, one request at a time: the request head
 * (and a buffered body) in one write, a streamed body with backpressure, the response read
 * by llhttp straight from the socket (a plain-TCP one's reads come to onRead, in the
 * connector's buffer), and the handler called as undici calls it
 * (onRequestStart, onResponseStart, onResponseData, onResponseEnd, onResponseError), with
 * undici's own errors, so classify.ts reads both alike. Timers are the connection's own,
 * re-armed per request rather than made anew.
 */
export class UpstreamConnection implements HeldWrites, SocketReader {
  readonly socket: Socket;
  private readonly owner: ConnectionOwner;
  private readonly parser: Parser;
  /** Read by llhttp in C++ (consumed), into the connector's buffer (own: onRead), or as 'data' (stream). */
  private readonly reads: 'consumed' | 'own' | 'stream';
  /**
   * Bytes still to come of a Content-Length body read past llhttp (own reads only): llhttp
   * hands each piece of a body to JavaScript as a new ArrayBuffer, which V8 frees only in
   * its next scavenge, on the event loop; read here, a small body is a slice of Node's
   * buffer pool. 0: none (llhttp has the body, if any).
   */
  private bodyLeft = 0;
  private readonly tls: boolean;
  private ex: Exchange | null = null;
  /** When it went idle (performance.now()); how long the origin said it keeps it idle (Keep-Alive: timeout=), ms. */
  idleSince = 0;
  announcedIdleMs: number | null = null;
  private keepAlive = true;
  private requestDone = false;
  private status = 0;
  private bodyBytes = 0;
  private upload: Readable | null = null;
  private uploadChunked = false;
  private uploadLeft = -1;
  private socketError: Error | null = null;
  private partial: string[] | null = null;
  private headerTimer: NodeJS.Timeout | null = null;
  private headerTimerMs = 0;
  private bodyTimer: NodeJS.Timeout | null = null;
  private bodyTimerMs = 0;
  /** Which timer is live: 0 none, 1 response head, 2 body silence. */
  private waiting: 0 | 1 | 2 = 0;
  private gone = false;
  /** Reading stopped for a slow client (the exchange's pause). */
  private paused = false;
  /** Corked until the poll phase ends (hold). */
  private held = false;

  constructor(socket: Socket, owner: ConnectionOwner) {
    this.socket = socket;
    this.owner = owner;
    this.parser = newParser('response', owner.maxHeaderBytes, {
      onHeaders: this.onHeaders,
      onHeadersComplete: this.onHeadersComplete,
      onBody: this.onBody,
      onMessageComplete: this.onMessageComplete,
      onExecute: this.onExecute,
    });
    if (readsOwnBuffer(socket)) {
      this.reads = 'own';
      setSocketReader(socket, this);
    } else this.reads = attachParser(this.parser, socket, this.onData) ? 'consumed' : 'stream';
    this.tls = (socket as { encrypted?: boolean }).encrypted === true;
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    // Written once more so that V8 does not compile them as constants (see jit-tiers.ts):
    // their first change (a connection that ends or fails, a slow client pausing it, a first
    // upload) would throw away the compiled request path in the middle of serving.
    this.gone = false;
    this.paused = false;
    this.socketError = null;
    this.upload = null;
    this.uploadChunked = false;
    this.uploadLeft = -1;
    this.bodyLeft = 1;
    this.bodyLeft = 0;
  }

  get busy(): boolean {
    return this.ex !== null;
  }

  get usable(): boolean {
    return !this.gone && this.ex === null && !this.socket.destroyed;
  }

  /** The socket's writes wait for the end of the event loop's poll phase (write-batch.ts). */
  private hold(): void {
    if (this.held) return;
    this.held = true;
    this.socket.cork();
    sendAfterPoll(this, 'to-origin');
  }

  sendHeldWrites(): void {
    if (!this.held) return;
    this.held = false;
    this.socket.uncork();
  }

  /** Writes the request of `ex` and reads its answer. */
  run(ex: Exchange): void {
    this.ex = ex;
    ex.conn = this;
    this.idleSince = 0;
    this.keepAlive = true;
    this.requestDone = false;
    this.status = 0;
    this.bodyBytes = 0;
    ex.handler.onRequestStart?.(ex, {});
    // The handler may abort at once (its try was given up while it waited for a connection).
    if (ex.aborted || this.ex !== ex) return;
    const { opts } = ex;
    const body = opts.body;
    let head = `${opts.method} ${opts.path} HTTP/1.1\r\n`;
    let host = false;
    let length = -1;
    const h = opts.headers;
    for (let i = 0; i < h.length; i += 2) {
      const k = h[i]!;
      const v = h[i + 1]!;
      if (k.length === 4 && k.toLowerCase() === 'host') host = true;
      else if (k.length === 14 && k.toLowerCase() === 'content-length') length = Number(v);
      head += `${k}: ${v}\r\n`;
    }
    if (!host) head += `host: ${this.owner.host}\r\n`;
    head += 'connection: keep-alive\r\n';
    if (body === null) {
      // As undici: a request that usually has a body says it has none.
      if (length < 0 && (opts.method === 'POST' || opts.method === 'PUT' || opts.method === 'PATCH')) head += 'content-length: 0\r\n';
      this.hold();
      this.socket.write(`${head}\r\n`, 'latin1');
      this.sent();
      return;
    }
    if (Buffer.isBuffer(body)) {
      if (length < 0) head += `content-length: ${body.length}\r\n`;
      this.hold();
      // The head and a small body go as one buffer; a body past the socket's buffer goes now (see H1Response.write).
      if (!writeFramed(this.socket, `${head}\r\n`, body, body.length, false)) this.sendHeldWrites();
      this.sent();
      return;
    }
    this.uploadChunked = length < 0;
    this.uploadLeft = length;
    if (this.uploadChunked) head += 'transfer-encoding: chunked\r\n';
    this.socket.write(`${head}\r\n`, 'latin1');
    this.upload = body;
    body.on('data', this.onUploadData);
    body.on('end', this.onUploadEnd);
    body.on('error', this.onUploadError);
  }

  private readonly onUploadData = (chunk: Buffer): void => {
    const ex = this.ex;
    if (ex === null) return;
    if (this.uploadLeft >= 0) {
      this.uploadLeft -= chunk.length;
      if (this.uploadLeft < 0) {
        this.fail(ex, new errors.RequestContentLengthMismatchError());
        return;
      }
    }
    const s = this.socket;
    let ok: boolean;
    if (this.uploadChunked) ok = writeChunk(s, chunk, chunk.length);
    else ok = s.write(chunk);
    if (!ok) {
      this.upload!.pause();
      s.once('drain', this.onUploadDrain);
    }
  };

  private readonly onUploadDrain = (): void => {
    this.upload?.resume();
  };

  private readonly onUploadEnd = (): void => {
    const ex = this.ex;
    if (ex === null) return;
    if (this.uploadLeft > 0) {
      this.fail(ex, new errors.RequestContentLengthMismatchError());
      return;
    }
    if (this.uploadChunked) this.socket.write(LAST_CHUNK, 'latin1');
    this.detachUpload();
    this.sent();
  };

  private readonly onUploadError = (err: Error): void => {
    if (this.ex !== null) this.fail(this.ex, err);
  };

  private detachUpload(): void {
    const up = this.upload;
    if (up === null) return;
    this.upload = null;
    up.off('data', this.onUploadData);
    up.off('end', this.onUploadEnd);
    up.off('error', this.onUploadError);
    this.socket.off('drain', this.onUploadDrain);
  }

  /** The whole request is written: the wait for the response head begins (undici counts it from here too). */
  private sent(): void {
    this.requestDone = true;
    const ms = this.ex?.opts.headersTimeout ?? 0;
    if (ms > 0 && this.status === 0) this.arm(1, ms);
  }

  private arm(which: 1 | 2, ms: number): void {
    this.waiting = which;
    if (which === 1) {
      if (this.headerTimer !== null && this.headerTimerMs === ms) this.headerTimer.refresh();
      else {
        if (this.headerTimer !== null) clearTimeout(this.headerTimer);
        this.headerTimer = setTimeout(this.onTimer, ms, 1);
        this.headerTimerMs = ms;
      }
    } else if (this.bodyTimer !== null && this.bodyTimerMs === ms) this.bodyTimer.refresh();
    else {
      if (this.bodyTimer !== null) clearTimeout(this.bodyTimer);
      this.bodyTimer = setTimeout(this.onTimer, ms, 2);
      this.bodyTimerMs = ms;
    }
  }

  private disarm(): void {
    // The timer objects stay for the next request; a stale firing finds nothing waiting.
    this.waiting = 0;
  }

  private readonly onTimer = (which: 1 | 2): void => {
    const ex = this.ex;
    if (ex === null || this.waiting !== which) return;
    this.fail(ex, which === 1 ? new errors.HeadersTimeoutError() : new errors.BodyTimeoutError());
  };

  private readonly onHeaders = (headers: string[]): void => {
    this.partial = this.partial === null ? headers : this.partial.concat(headers);
  };

  private readonly onHeadersComplete: HeadersComplete = (_major, _minor, raw, _method, _url, status, message, upgrade, keepAlive) => {
    const ex = this.ex;
    const list = raw ?? this.partial ?? [];
    this.partial = null;
    if (ex === null) {
      // An answer to no request (bytes past the last answer, or sent while idle): what else
      // the connection carries cannot be trusted to belong to anyone.
      this.close();
      return 1;
    }
    if (ex.settled) return 1;
    if (upgrade) {
      // Switching protocols (101) on a request that did not ask to: what follows is not HTTP.
      this.fail(ex, new errors.SocketError('bad upgrade'));
      return 1;
    }
    // 1xx (100 Continue, 103 Early Hints) come before the answer: not forwarded, as undici does.
    if (status < 200) return 1;
    this.disarm();
    this.announcedIdleMs = null;
    this.status = status;
    this.keepAlive = keepAlive;
    // It closes after this answer: that close is no sign of how long the origin keeps idle ones.
    if (!keepAlive) markSocketClosing(this.socket);
    const headers: Headers = {};
    // llhttp has checked the framing (one Content-Length, digits only, not with Transfer-Encoding).
    let length = -1;
    let chunked = false;
    for (let i = 0; i < list.length; i += 2) {
      const key = list[i]!.toLowerCase();
      const value = list[i + 1]!;
      const had = headers[key];
      if (had === undefined) headers[key] = value;
      else if (typeof had === 'string') headers[key] = [had, value];
      else had.push(value);
      if (key === 'content-length') length = Number(value);
      else if (key === 'transfer-encoding') chunked = true;
      else if (key === 'keep-alive') {
        const seconds = /\btimeout=(\d+)/i.exec(value)?.[1];
        if (seconds !== undefined) {
          this.announcedIdleMs = Number(seconds) * 1000;
          markSocketPromised(this.socket, this.announcedIdleMs);
        }
      }
    }
    ex.handler.onResponseStart?.(ex, status, headers, message);
    // A HEAD's answer announces a body it does not send.
    if (ex.opts.method === 'HEAD') return 1;
    if (this.reads === 'own' && !chunked && length > 0 && Number.isSafeInteger(length) && status !== 204 && status !== 304 && this.ex === ex) {
      // llhttp stops at the end of the head, as for an upgrade, and says where: onRead takes the body from there.
      this.bodyLeft = length;
      return 2;
    }
    return 0;
  };

  private readonly onBody = (chunk: Buffer): void => {
    const ex = this.ex;
    if (ex === null || ex.settled) return;
    this.bodyBytes += chunk.length;
    const max = this.owner.maxResponseBytes;
    if (max !== null && this.bodyBytes > max) {
      this.fail(ex, new errors.ResponseExceededMaxSizeError());
      return;
    }
    if (this.waiting === 2) this.bodyTimer!.refresh();
    ex.handler.onResponseData?.(ex, chunk);
  };

  private readonly onMessageComplete = (): void => {
    // llhttp ends the message at its head when onRead is to read the body (onHeadersComplete).
    if (this.bodyLeft > 0) return;
    const ex = this.ex;
    if (ex === null || this.status === 0) return;
    this.disarm();
    this.ex = null;
    ex.conn = null;
    this.partial = null;
    // Paused for a slow client at the last chunk: the next request on it must be read.
    if (this.paused) this.resumeReading();
    // Answered before the upload was whole: the connection carries the rest of it, so it is not reused.
    const reusable = this.keepAlive && this.requestDone && !this.gone;
    this.detachUpload();
    markSocketIdle(this.socket);
    if (!ex.settled) {
      ex.settled = true;
      ex.handler.onResponseEnd?.(ex, {});
    }
    if (reusable) this.owner.release(this);
    else this.close();
  };

  /** After each read the parser took: a body still arriving has its silence timed from here. */
  private readonly onExecute = (ret: number | ParseError): void => {
    if (typeof ret !== 'number') {
      this.parseError(ret);
      return;
    }
    const ex = this.ex;
    // Most answers are whole in one read: the body timer is armed only for those that are not.
    if (ex !== null && this.status !== 0 && this.waiting === 0 && !ex.paused && ex.opts.bodyTimeout > 0) this.arm(2, ex.opts.bodyTimeout);
  };

  private readonly onData = (d: Buffer): void => this.onExecute(this.parser.execute(d));

  /** SocketReader: one read in the connector's buffer, all of it parsed before the next read reuses the buffer. */
  onRead(buf: Buffer, n: number): void {
    let at = 0;
    while (at < n) {
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, n - at);
        // A copy: the buffer takes the next read, and the chunk may wait in a corked socket.
        const chunk = Buffer.allocUnsafe(take);
        buf.copy(chunk, 0, at, at + take);
        at += take;
        this.bodyLeft -= take;
        this.onBody(chunk);
        if (this.bodyLeft === 0) {
          // Before anything else is parsed: llhttp stopped at the head as for an upgrade, and until reset it reports no error.
          resetParser(this.parser, 'response', this.owner.maxHeaderBytes);
          this.onMessageComplete();
        }
        if (this.gone) return;
        continue;
      }
      const ret = this.parser.execute(buf.subarray(at, n));
      if (typeof ret !== 'number') {
        this.parseError(ret);
        return;
      }
      // Unless llhttp stopped at a head whose body is read here, it took the whole read.
      if (this.bodyLeft === 0) break;
      at += ret;
    }
    this.onExecute(n);
  }

  private parseError(err: ParseError): void {
    const ex = this.ex;
    if (ex !== null) this.fail(ex, Object.assign(new Error(err.reason ?? err.code), { code: err.code, reason: err.reason }));
    else this.socket.destroy();
  }

  pauseReading(): void {
    this.disarm();
    this.paused = true;
    setReading(this.socket, this.reads === 'consumed', false);
  }

  resumeReading(): void {
    this.paused = false;
    setReading(this.socket, this.reads === 'consumed', true);
    const ex = this.ex;
    if (ex !== null && this.status !== 0 && ex.opts.bodyTimeout > 0) this.arm(2, ex.opts.bodyTimeout);
  }

  /** The handler gave up (the client left, a deadline passed): the connection goes with it. */
  abortExchange(ex: Exchange, reason: Error): void {
    if (this.ex !== ex) return;
    this.fail(ex, reason);
  }

  private fail(ex: Exchange, err: Error): void {
    this.disarm();
    this.detachUpload();
    if (this.ex === ex) {
      this.ex = null;
      ex.conn = null;
    }
    this.gone = true;
    // Reset, not closed: what is still queued of the request is dropped rather than
    // delivered, so an origin never gets more of a request the gateway gave up.
    // (A TLS socket has no TCP handle of its own to reset.)
    if (!this.socket.destroyed) {
      if (!this.tls) this.socket.resetAndDestroy();
      else this.socket.destroy();
    }
    ex.error(err);
  }

  private readonly onEnd = (): void => {
    const ex = this.ex;
    // A body that runs to the end of the connection (no length, no chunks) ends here.
    if (ex !== null && this.status !== 0) {
      const r = this.parser.finish();
      if (r instanceof Error || this.ex === ex) this.fail(ex, this.socketError ?? new errors.SocketError('other side closed'));
    }
    this.socket.destroy();
  };

  private readonly onError = (err: Error): void => {
    this.socketError ??= err;
  };

  private readonly onClose = (): void => {
    this.gone = true;
    const ex = this.ex;
    if (ex !== null) this.fail(ex, this.socketError ?? new errors.SocketError('other side closed'));
    if (this.headerTimer !== null) clearTimeout(this.headerTimer);
    if (this.bodyTimer !== null) clearTimeout(this.bodyTimer);
    if (this.reads === 'own') setSocketReader(this.socket, null);
    detachParser(this.parser, this.socket, this.reads === 'consumed', this.onData);
    this.owner.closed(this);
  };

  /** Closes the connection (not reusable, idle past its keep-alive, the pool closing): the gateway's close, which teaches nothing of the origin's keep-alive. */
  close(): void {
    this.gone = true;
    markSocketClosing(this.socket);
    this.socket.destroy();
  }
}
