import { PassThrough, type Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Timeouts } from '../config/schema.ts';
import { type AttemptProgress, classifyUpstreamError } from '../errors/classify.ts';
import { ProxyError } from '../errors/proxy-error.ts';
import type { RequestCtx } from '../server/request-ctx.ts';
import type { EndpointState, UpstreamPool } from '../upstream/pool.ts';
import type { Cancel } from './cancel.ts';
import type { Exchange } from '../upstream/h1/exchange.ts';
import { type SocketFacts, socketFacts } from '../upstream/socket-tracker.ts';
import type { BodyCapture } from '../cache/capture.ts';
import { perTryTimeout, responseBodyTooLarge } from './gateway-errors.ts';
import { clientResponseHeaders } from './headers.ts';
import { afterSends } from '../http1/write-batch.ts';

type IncomingHttpHeaders = Record<string, string | string[] | undefined>;

export type AttemptInput = {
  readonly ctx: RequestCtx;
  readonly endpoint: EndpointState;
  readonly attempt: number;
  readonly method: string;
  readonly path: string;
  readonly headers: string[];
  /** A buffered body any try can resend, or the client's upload stream. */
  readonly body: Readable | Buffer | null;
  readonly timeouts: Timeouts;
  /** The gateway's name, for Via. */
  readonly name: string;
  /** Our Proxy-Status member for a proxied response, without received-status. */
  readonly proxyStatusMember: string;
  /** Told when the endpoint answers (response headers): passive health and latency. */
  readonly pool: Pick<UpstreamPool, 'reportResponse'>;
  /** The request's control: its concurrency permit goes back when the endpoint answers. */
  readonly control: Pick<Cancel, 'answeredAfter'>;
  /** Limit of this try until response headers (retry.per_try_timeout); null: none. */
  readonly perTryTimeoutMs?: number | null;
  /** limits.max_response_body_bytes; null: none. */
  readonly maxResponseBodyBytes?: number | null;
  /** A cached route: keeps a copy of the response for the cache. */
  readonly capture?: BodyCapture | null;
  /** A cached route: the Cache-Status the response goes out with. */
  readonly cacheStatus?: string | null;
  /**
   * A cached route with a stored copy at hand: true for an origin status the copy should
   * answer instead (a 5xx, or the 304 of a revalidation). The response is then read and
   * dropped, its headers kept in `replacedHeaders`.
   */
  readonly replaceStatus?: ((status: number) => boolean) | null;
};

/**
 * One try of a request against one endpoint, as a dispatch handler (undici's contract, which
 * the gateway's own pool keeps, src/upstream/h1/): the response streams straight into the
 * client's response, with backpressure both ways. The promise settles once the response is
 * complete and the writes held with it are sent (write-batch.ts), or with a classified ProxyError.
 */
export class Attempt implements Dispatcher.DispatchHandler {
  readonly input: AttemptInput;
  readonly facts: SocketFacts = { reused: false, timings: null, socket: null, idleMs: null };
  progress: AttemptProgress = 'connecting';
  ttfbMs: number | null = null;
  status: number | null = null;
  /** The headers of an origin answer dropped for a stored copy (input.replaceStatus); null: none was. */
  replacedHeaders: IncomingHttpHeaders | null = null;
  private readonly started = performance.now();
  /** How long the try took, once it settled. */
  private tookMs: number | null = null;
  private controller: Dispatcher.DispatchController | null = null;
  private abandoned: ProxyError | null = null;
  private settled = false;
  private perTry: NodeJS.Timeout | null = null;
  /**
   * What the pool reads a streamed upload from: the client's body is piped in only once the
   * request is being written, so a try that fails to connect leaves it unread and
   * replayable, and a try that ends early lets go of it (unpipe) without ending the
   * client's connection.
   */
  private pass: PassThrough | null = null;
  private resolve!: () => void;
  private reject!: (e: ProxyError) => void;
  readonly done: Promise<void>;

  constructor(input: AttemptInput) {
    this.input = input;
    this.done = new Promise<void>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    this.onDrain = this.onDrain.bind(this);
  }

  start(): Promise<void> {
    const { endpoint, method, path, headers, body, timeouts, perTryTimeoutMs } = this.input;
    endpoint.inflight++;
    if (perTryTimeoutMs) {
      this.perTry = setTimeout(() => this.abort(perTryTimeout(endpoint.address, perTryTimeoutMs)), perTryTimeoutMs);
    }
    try {
      if (body !== null && !Buffer.isBuffer(body)) this.pass = new PassThrough();
      // The pool's timers are exact: the response header limit counts from the end of the
      // request (a long upload is not a slow origin), the idle limit pauses while the client reads.
      endpoint.client.dispatch(
        { path, method, headers, body: this.pass ?? body, headersTimeout: timeouts.responseHeaderMs, bodyTimeout: timeouts.idleMs },
        this,
      );
    } catch (err) {
      this.fail(err);
    }
    return this.done;
  }

  get replaced(): boolean {
    return this.replacedHeaders !== null;
  }

  /** How long the try took: until it settled, or so far. */
  durationMs(): number {
    return this.tookMs ?? performance.now() - this.started;
  }

  /** Stops this try (client gone, total deadline): the error becomes its outcome. */
  abort(err: ProxyError): void {
    if (this.settled) return;
    if (this.controller) this.controller.abort(err);
    else {
      // Still connecting: the pool offers no handle yet, so the try is abandoned now and the
      // request is aborted the moment the pool starts writing it.
      this.abandoned = err;
      this.fail(err);
    }
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (this.abandoned) {
      controller.abort(this.abandoned);
      return;
    }
    this.controller = controller;
    this.progress = 'sent';
    socketFacts(this.facts, (controller as Exchange).socket);
    if (this.pass) (this.input.body as Readable).pipe(this.pass);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    if (this.settled) return;
    this.clearTimers();
    const { ctx, name, proxyStatusMember } = this.input;
    const now = performance.now();
    this.ttfbMs = now - this.started;
    this.status = statusCode;
    ctx.upstreamStatus = statusCode;
    if (this.input.replaceStatus?.(statusCode)) {
      this.replacedHeaders = headers;
      this.progress = 'streaming';
      this.answered(now);
      return;
    }
    const limit = this.input.maxResponseBodyBytes;
    // (A HEAD, 204 or 304 announces a length it does not send.)
    const bodyless = statusCode === 204 || statusCode === 304 || this.input.method === 'HEAD';
    if (limit != null && !bodyless && typeof headers['content-length'] === 'string' && Number(headers['content-length']) > limit) {
      // Announced too large: refused before a byte goes out, so the client gets an explained
      // 502. A body without Content-Length is counted as it comes (the pool's maxResponseBytes).
      controller.abort(responseBodyTooLarge(this.input.endpoint.address, limit, headers['content-length']));
      return;
    }
    const out = clientResponseHeaders(headers, name, `${proxyStatusMember}; received-status=${statusCode}`, ctx.requestId);
    if (this.input.cacheStatus) out.push('cache-status', this.input.cacheStatus);
    this.input.capture?.start(statusCode, headers);
    try {
      // HTTP/2 has no reason phrase (Node warns on every one it is given).
      // The origin's fields were parsed by llhttp, the rest are the gateway's: all valid as they are.
      if (statusMessage && ctx.req.httpVersionMajor === 1) ctx.res.writeHead(statusCode, statusMessage, out, true);
      else ctx.res.writeHead(statusCode, out);
    } catch (err) {
      // Node refuses a header value it cannot send: the origin's answer is not valid HTTP.
      controller.abort(
        new ProxyError({
          type: 'http_protocol_error',
          detail: 'invalid_response_header',
          message: `${this.input.endpoint.address} sent a response header that cannot be forwarded: ${(err as Error).message}`,
          source: 'upstream',
          origin: 'remote',
          stage: 'headers',
          retry: 'idempotent',
          cause: err,
        }),
      );
      return;
    }
    this.progress = 'streaming';
    this.answered(now);
  }

  /** The endpoint answered: its passive health hears of it, and the permit goes back. */
  private answered(now: number): void {
    const ttfbMs = this.ttfbMs!;
    this.input.pool.reportResponse(this.input.endpoint, this.status!, ttfbMs, now);
    this.input.control.answeredAfter(ttfbMs);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled || this.replaced) return;
    this.input.capture?.add(chunk);
    this.input.ctx.bytes += chunk.length;
    if (!this.input.ctx.res.write(chunk)) {
      // The client is slow, not the origin: the pool's idle wait pauses until it has read.
      controller.pause();
      this.input.ctx.res.once('drain', this.onDrain);
    }
  }

  private onDrain(): void {
    this.controller?.resume();
  }

  private clearTimers(): void {
    if (this.perTry) clearTimeout(this.perTry);
    this.perTry = null;
  }

  onResponseEnd(): void {
    if (this.settled) return;
    this.settled = true;
    this.tookMs = performance.now() - this.started;
    this.clearTimers();
    this.input.endpoint.inflight--;
    const upload = this.detachUpload();
    // The origin answered before reading the whole upload: the rest is read and dropped, so
    // the client is not left blocked writing a body nobody reads (nginx does the same).
    if (upload && !upload.readableEnded) upload.resume();
    if (!this.replaced) {
      this.input.ctx.res.end();
      this.input.capture?.end();
    }
    // What waits for the try (the loop's record and events, the pipeline's end, the log line)
    // is no part of the answer: held for the end of the poll phase, the answers go first. Not
    // when the answer is the stored copy: what waits for the try writes it.
    if (this.replaced) this.resolve();
    else afterSends(settle, this.resolve);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.fail(err);
  }

  private detachUpload(): Readable | null {
    if (!this.pass) return null;
    const upload = this.input.body as Readable;
    upload.unpipe(this.pass);
    this.pass = null;
    return upload;
  }

  private fail(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.tookMs = performance.now() - this.started;
    this.clearTimers();
    this.detachUpload();
    this.input.endpoint.inflight--;
    const { endpoint, attempt, timeouts } = this.input;
    this.reject(
      classifyUpstreamError(err, {
        progress: this.progress,
        hop: { pool: endpoint.pool, endpoint: endpoint.address, attempt, reused: this.facts.reused },
        limits: timeouts,
      }),
    );
  }
}

function settle(resolve: () => void): void {
  resolve();
}
