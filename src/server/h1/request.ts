import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';

/**
 * Duplicates of these fields are dropped, the first kept, as node:http does (a second
 * Content-Type or Host has no meaning to add); set-cookie is a list, cookie joined by "; ",
 * everything else by ", ".
 */
const SINGLE = new Set([
  'age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host',
  'if-modified-since', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards',
  'proxy-authorization', 'referer', 'retry-after', 'server', 'user-agent',
]);

/**
 * One request as the gateway's HTTP/1 server parsed it: the head at once, the body as a
 * stream only if the request has one and someone reads it (most requests have none, and
 * a stream per request is garbage every request would pay for).
 */
export class H1Request {
  readonly method: string;
  readonly url: string;
  readonly httpVersionMajor: number;
  readonly httpVersionMinor: number;
  readonly rawHeaders: string[];
  readonly socket: Socket;
  /** The whole body has been received (or there was none). */
  complete = false;
  private stream: BodyStream | null = null;
  private fields: IncomingHttpHeaders | null = null;
  private dropping = false;
  private readonly onPressure: (paused: boolean) => void;

  constructor(socket: Socket, method: string, url: string, major: number, minor: number, rawHeaders: string[], onPressure: (paused: boolean) => void) {
    this.socket = socket;
    this.method = method;
    this.url = url;
    this.httpVersionMajor = major;
    this.httpVersionMinor = minor;
    this.rawHeaders = rawHeaders;
    this.onPressure = onPressure;
  }

  /** The fields by lower-case name, built on first use (the proxy path reads rawHeaders). */
  get headers(): IncomingHttpHeaders {
    if (this.fields !== null) return this.fields;
    const out: Record<string, string | string[]> = {};
    const raw = this.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const key = raw[i]!.toLowerCase();
      const value = raw[i + 1]!;
      const had = out[key];
      if (had === undefined) out[key] = key === 'set-cookie' ? [value] : value;
      else if (key === 'set-cookie') (had as string[]).push(value);
      else if (!SINGLE.has(key)) out[key] = `${had as string}${key === 'cookie' ? '; ' : ', '}${value}`;
    }
    this.fields = out;
    return out;
  }

  /** The body, as a stream: what arrives is pushed into it, the socket paused while it is full. */
  get body(): Readable {
    if (this.stream === null) {
      this.stream = new BodyStream(this.onPressure);
      if (this.complete) this.stream.push(null);
    }
    return this.stream;
  }

  /** A piece of the body, from the parser. */
  chunk(b: Buffer): void {
    if (this.dropping) return;
    if (!this.body.push(b)) this.onPressure(true);
  }

  /** The response is over and the body was not read whole: the rest is read and dropped. */
  discard(): void {
    this.dropping = true;
    this.stream?.resume();
    this.onPressure(false);
  }

  /** The body's end, from the parser. */
  finish(): void {
    this.complete = true;
    this.stream?.push(null);
    // The bytes that follow are the next request's, not this body's: a socket paused for a
    // full body reads on (an ended stream asks for no more, so nothing else would resume it).
    this.onPressure(false);
  }

  /** The client left before the body was whole: the stream ends with an error, as node:http's does. */
  abort(): void {
    if (this.complete || this.stream === null || this.stream.destroyed) return;
    this.stream.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
  }
}

class BodyStream extends Readable {
  private readonly onPressure: (paused: boolean) => void;
  constructor(onPressure: (paused: boolean) => void) {
    super();
    this.onPressure = onPressure;
  }
  override _read(): void {
    this.onPressure(false);
  }
  // As node:http's request: a client that left is an error only to someone listening for one;
  // a body nobody reads any more must not take the process down with it.
  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    callback(this.listenerCount('error') > 0 ? err : null);
  }
}
