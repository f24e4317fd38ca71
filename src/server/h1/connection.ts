import type { Socket } from 'node:net';
import {
  consumeSocket,
  giveBackRequestParser,
  type HeadersComplete,
  METHODS,
  type ParseError,
  type Parser,
  type ParserCallbacks,
  parserCanConsume,
  setReading,
  takeRequestParser,
} from '../../http1/llhttp.ts';
import { firstField } from '../../http1/fields.ts';
import { H1Request } from './request.ts';
import { H1Response, type ResponseOwner } from './response.ts';

/** The client limits of an HTTP/1 listener (client: in the configuration). */
export type H1Limits = {
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxHeaderBytes: number;
};

/** What the server does with what a connection receives. */
export type H1Handlers = {
  request(req: H1Request, res: H1Response): void;
  /** A request asking to switch protocols: the socket is the handler's from now on; `head` holds bytes read past the request. */
  upgrade(req: H1Request, socket: Socket, head: Buffer): void;
  /** A request the server refuses before any handler sees it (a parse error, a timeout): answer on the socket, or destroy it. */
  clientError(err: ParseError, socket: Socket): void;
};

/** The server a connection belongs to: its limits, and whether it is draining (a graceful stop). */
export type ConnectionHost = {
  readonly limits: H1Limits;
  readonly handlers: H1Handlers;
  readonly draining: boolean;
  forget(c: H1Connection): void;
};

/** How long a refused connection may stay half open after its answer. */
const REFUSED_LINGER_MS = 5000;
const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
/**
 * Pipelined requests held behind the one being answered before the socket is no longer read
 * (the rest waits in the kernel, and the client's writes back up): without it, a client that
 * pipelines without end makes the gateway hold every request it sends. The read that crosses
 * the limit is parsed whole, so one read's worth (64 KiB) more may wait.
 */
const MAX_PIPELINED = 16;
/**
 * A keep-alive connection idle this long gives its parser back (parsers are ~6 KB outside
 * V8's heap each) and takes one again when bytes arrive, as nginx frees a request's buffers
 * when its connection goes idle. The server's sweep runs at least this often.
 */
export const PARK_AFTER_MS = 100;

/**
 * One client connection: llhttp parses what arrives (reading from the socket itself when it
 * can), each request goes to the handlers with its response, and pipelined requests wait
 * their turn, answered in order. Time limits are checked by the server's sweep (check()),
 * not by a timer per request. The parser is held only while there is something to parse:
 * taken when the first bytes arrive, given back when the connection has been idle a while.
 */
export class H1Connection implements ResponseOwner {
  readonly socket: Socket;
  readonly keepAliveSeconds: number;
  private readonly host: ConnectionHost;
  /** null until bytes arrive, and again while the connection idles (parked). */
  private parser: Parser | null = null;
  /**
   * llhttp reads the socket itself once it has a parser; otherwise (a TLS socket it cannot
   * read, or no parser) 'data' is fed to it.
   */
  private readonly canConsume: boolean;
  private readonly callbacks: ParserCallbacks;
  private current: H1Response | null = null;
  private currentReq: H1Request | null = null;
  /** Pipelined requests and their responses, waiting for the current one to end. */
  private queue: (H1Request | H1Response)[] = [];
  /** The request whose body is arriving (it may be queued behind the current one). */
  private parsing: H1Request | null = null;
  private upgrading: H1Request | null = null;
  private partialHeaders: string[] | null = null;
  private partialUrl = '';
  /** When the head now arriving began (performance.now()); 0 between requests. */
  private headStart: number;
  private headersDone = false;
  /** When the connection went idle, waiting for a next request; 0 while it is not. */
  private idleSince = 0;
  private clientEnded = false;
  /** A request's body is full (its reader is slow): the socket is not read. */
  private bodyFull = false;
  private reading = true;
  private gone = false;
  /** The server ended its side: requests that still arrive are not served. */
  private ended = false;
  /** A refusal waiting for the parser to return, or for the response being written to end. */
  private pendingError: ParseError | null = null;
  /** Bytes of a request have arrived on it (a fresh connection counts as idle until then). */
  private begun = false;

  constructor(socket: Socket, host: ConnectionHost) {
    this.socket = socket;
    this.host = host;
    this.keepAliveSeconds = Math.floor(host.limits.keepAliveTimeoutMs / 1000);
    this.headStart = performance.now();
    this.callbacks = {
      onMessageBegin: this.onMessageBegin,
      onHeaders: this.onHeaders,
      onHeadersComplete: this.onHeadersComplete,
      onBody: this.onBody,
      onMessageComplete: this.onMessageComplete,
      onExecute: this.onExecute,
    };
    this.canConsume = parserCanConsume(socket);
    // Bytes come here while there is no parser (and always on TLS); a consuming parser takes them first.
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onClose);
    socket.on('error', ignore);
    // Written once more so that V8 does not compile them as constants (see jit-tiers.ts): their
    // first change (a client asking for Connection: close, ending its side, a slow body, a
    // refused request) would throw away the compiled request path in the middle of serving.
    this.gone = false;
    this.ended = false;
    this.clientEnded = false;
    this.bodyFull = false;
    this.reading = true;
    this.pendingError = null;
    this.upgrading = null;
  }

  /** No request in flight and none arriving: a graceful stop may close it now. */
  get idle(): boolean {
    return this.current === null && (this.headStart === 0 || !this.begun);
  }

  /**
   * The server's sweep: ends a connection past its header, request or keep-alive limit, or
   * parks one idle PARK_AFTER_MS; true when it did either (what the sweep counts per turn).
   */
  check(now: number): boolean {
    if (this.gone) return false;
    const { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs } = this.host.limits;
    if (this.idleSince > 0) {
      const idleFor = now - this.idleSince;
      if (keepAliveTimeoutMs > 0 && idleFor >= keepAliveTimeoutMs) {
        this.socket.destroy();
        return true;
      }
      if (this.parser === null || idleFor < PARK_AFTER_MS || !this.reading) return false;
      // Idle at the start of a message, and the sweep runs outside the parser's callbacks.
      this.releaseParser(false);
      return true;
    }
    // Not read because of the gateway's own limit (MAX_PIPELINED): the client is not late.
    if (this.headStart === 0 || this.queueFull) return false;
    const late = this.headersDone ? requestTimeoutMs > 0 && now - this.headStart >= requestTimeoutMs : headersTimeoutMs > 0 && now - this.headStart >= headersTimeoutMs;
    if (!late) return false;
    const err = Object.assign(new Error('the client did not send its request in time'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' });
    // A response already under way cannot be replaced by a 408: the connection is cut instead.
    if (this.current?.headersSent) this.socket.destroy();
    else this.refuse(err);
    return true;
  }

  private readonly onMessageBegin = (): void => {
    this.headStart = performance.now();
    this.begun = true;
    this.idleSince = 0;
    this.headersDone = false;
    this.partialHeaders = null;
    this.partialUrl = '';
  };

  /** Headers that took more than one read arrive in parts. */
  private readonly onHeaders = (headers: string[], url: string): void => {
    this.partialHeaders = this.partialHeaders === null ? headers : this.partialHeaders.concat(headers);
    this.partialUrl += url;
  };

  private readonly onHeadersComplete: HeadersComplete = (major, minor, headers, method, url, _status, _message, upgrade, keepAlive) => {
    const raw = headers ?? this.partialHeaders ?? [];
    const path = this.partialUrl + (url ?? '');
    this.partialHeaders = null;
    this.partialUrl = '';
    this.headersDone = true;
    // Requests pipelined behind one that is refused are not served: the answers would be
    // out of order (the refusal waits for the parser, or for the response before it).
    // Nor are requests that arrive once the server has ended its side: no answer could follow.
    if (this.pendingError !== null || this.ended) return 0;
    const req = new H1Request(this.socket, METHODS[method] ?? 'GET', path, major, minor, raw, this.pressure);
    this.parsing = req;
    if (major === 1 && minor === 1 && firstField(raw, 'host') === undefined) {
      // Refused once the parser has returned (the socket cannot be let go inside its callback).
      this.pendingError ??= Object.assign(new Error('an HTTP/1.1 request must have a Host field'), { code: 'ERR_MISSING_HOST_HEADER' });
      return 0;
    }
    if (upgrade) {
      this.upgrading = req;
      return 0;
    }
    const res = new H1Response(this.socket, this, { method: req.method, minor, keepAlive: keepAlive && !this.host.draining });
    if (this.current === null) this.start(req, res);
    else {
      this.queue.push(req, res);
      if (this.queueFull) this.updateReading();
    }
    return 0;
  };

  private readonly onBody = (b: Buffer): void => {
    this.parsing?.chunk(b);
  };

  private readonly onMessageComplete = (): void => {
    this.parsing?.finish();
    this.parsing = null;
    this.headStart = 0;
    this.headersDone = false;
    this.maybeIdle();
  };

  /** After each read the parser took (`input`: the bytes, when this connection fed them itself). */
  private parsed(ret: number | ParseError, input: Buffer | null): void {
    if (typeof ret !== 'number') this.parseError(ret);
    else if (this.pendingError !== null && this.current === null) this.refuse(this.pendingError);
    else if (this.upgrading) this.upgrade((input ?? this.parser!.getCurrentBuffer()).subarray(ret));
  }

  private readonly onExecute = (ret: number | ParseError): void => this.parsed(ret, null);

  private readonly onData = (d: Buffer): void => {
    const parser = this.parser ?? this.unpark();
    this.parsed(parser.execute(d), d);
  };

  /** Bytes arrived with no parser: one is taken, and reads the socket itself from the next read on. */
  private unpark(): Parser {
    const parser = takeRequestParser(this.host.limits.maxHeaderBytes, this.callbacks);
    this.parser = parser;
    if (this.canConsume) consumeSocket(parser, this.socket);
    return parser;
  }

  /** Lets go of the parser, if any; `inCallback`: it may be running one of its callbacks (see giveBackRequestParser). */
  private releaseParser(inCallback: boolean): void {
    const parser = this.parser;
    if (parser === null) return;
    this.parser = null;
    if (this.canConsume) parser.unconsume();
    giveBackRequestParser(parser, inCallback);
  }

  /** llhttp reads the socket itself now. */
  private get consumed(): boolean {
    return this.canConsume && this.parser !== null;
  }

  /** A request's body is full (true) or read (false): the socket is paused or resumed. */
  private readonly pressure = (full: boolean): void => {
    if (this.gone) return;
    this.bodyFull = full;
    this.updateReading();
  };

  /** MAX_PIPELINED requests wait (with their responses): the socket is not read. */
  private get queueFull(): boolean {
    return this.queue.length >= 2 * MAX_PIPELINED;
  }

  private updateReading(): void {
    const on = !this.bodyFull && !this.queueFull;
    if (on === this.reading || this.gone) return;
    this.reading = on;
    setReading(this.socket, this.consumed, on);
  }

  private start(req: H1Request, res: H1Response): void {
    this.current = res;
    this.currentReq = req;
    this.idleSince = 0;
    if (req.httpVersionMinor >= 1 && expectsContinue(req.rawHeaders)) this.socket.write(CONTINUE);
    this.host.handlers.request(req, res);
  }

  /** ResponseOwner: the current response is written whole; the connection goes on, or ends. */
  responseDone(res: H1Response): void {
    if (res !== this.current) return;
    const req = this.currentReq!;
    this.current = null;
    this.currentReq = null;
    // The rest of a body nobody read is read and dropped, so the next request can be parsed.
    if (!req.complete) req.discard();
    if (this.pendingError) {
      this.refuse(this.pendingError);
      return;
    }
    if (!res.keptAlive || this.host.draining) {
      this.endAfterWrites();
      return;
    }
    if (this.queue.length > 0) {
      const wasFull = this.queueFull;
      const nextReq = this.queue.shift() as H1Request;
      const nextRes = this.queue.shift() as H1Response;
      if (wasFull && !this.queueFull) {
        // A head cut off by the pause is timed again from when reading resumes.
        if (this.headStart !== 0) this.headStart = performance.now();
        this.updateReading();
      }
      // Not from inside the response's end(), which the pipeline is still running.
      process.nextTick(() => {
        if (!this.gone) this.start(nextReq, nextRes);
      });
      return;
    }
    if (this.clientEnded) this.socket.end();
    else this.maybeIdle();
  }

  /**
   * Ends the server's side once what is written has gone (a response may still be held for the
   * end of the poll phase, write-batch.ts); a request arriving after it is read and dropped,
   * never handed to the pipeline (the origin would run it and its answer could not be sent).
   */
  endAfterWrites(): void {
    this.ended = true;
    // Requests waiting behind the last answer are never served; the socket is read again
    // (what arrives is dropped), or the client's own end would never be seen.
    this.queue.length = 0;
    this.updateReading();
    this.socket.end();
  }

  /** Nothing in flight and nothing arriving: the keep-alive limit runs from now. */
  private maybeIdle(): void {
    if (this.current === null && this.headStart === 0 && !this.gone) this.idleSince = performance.now();
  }

  private upgrade(head: Buffer): void {
    const req = this.upgrading!;
    this.upgrading = null;
    if (this.current !== null) {
      // An upgrade pipelined behind a request still being answered: not worth the machinery.
      this.socket.destroy();
      return;
    }
    this.detach();
    this.host.handlers.upgrade(req, this.socket, Buffer.from(head));
  }

  private parseError(err: ParseError): void {
    if (this.current !== null) {
      // The request being answered broke its own body: it can never be whole, and no answer
      // to it can be told from one to what followed. The connection ends.
      if (this.parsing === this.currentReq) {
        if (this.current.headersSent) {
          this.parsing?.abort();
          this.socket.destroy();
        } else this.refuse(err);
        return;
      }
      this.pendingError = err;
      return;
    }
    this.refuse(err);
  }

  /** The server refuses what arrived: the handler answers on the socket, which is the handler's now. */
  private refuse(err: ParseError): void {
    const res = this.current;
    this.current = null;
    this.currentReq = null;
    this.detach();
    this.parsing?.abort();
    // A request still being answered (its body late past request_timeout) is cut: the pipeline stops it.
    if (res !== null && !res.writableFinished) res.lost();
    // The answer ends the connection; a client that never closes its side is cut after a while.
    this.socket.setTimeout(REFUSED_LINGER_MS, () => this.socket.destroy());
    this.host.handlers.clientError(err, this.socket);
  }

  /** The connection stops being an HTTP/1 connection of this server (an upgrade, a refusal). */
  private detach(): void {
    if (this.gone) return;
    // Resumed first, should a full body or a full queue have paused it: the next owner reads
    // it. Requests still queued are never served once the connection is no longer ours.
    this.bodyFull = false;
    this.queue.length = 0;
    this.updateReading();
    this.gone = true;
    this.host.forget(this);
    this.socket.off('data', this.onData);
    this.releaseParser(true);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onClose);
  }

  private readonly onEnd = (): void => {
    this.clientEnded = true;
    this.parsing?.abort();
    if (this.current === null) this.socket.end();
  };

  private readonly onClose = (): void => {
    const res = this.current;
    const req = this.currentReq;
    this.current = null;
    this.currentReq = null;
    this.queue.length = 0;
    this.parsing?.abort();
    this.detach();
    req?.abort();
    if (res !== null && !res.writableFinished) res.lost();
  };
}

function ignore(): void {}

/** Expect: 100-continue, which node:http answers by itself, as this server does. */
function expectsContinue(raw: readonly string[]): boolean {
  const expect = firstField(raw, 'expect');
  return expect !== undefined && /(?:^|\W)100-continue(?:$|\W)/i.test(expect);
}
