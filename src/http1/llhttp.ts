// llhttp, the parser of Node's own HTTP server and client, through the binding node:http uses
// (`_http_common`). Bound to a socket with consume(), it reads in C++ straight from the
// socket and calls back only at the parts of a message, which is what lets the gateway's
// HTTP/1 server skip node:http's request and response streams. Node 24 is pinned
// (package.json engines); test/h1-server.test.ts fails first should this interface move.
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

/** What a parse error from llhttp carries (code: HPE_INVALID_METHOD, HPE_HEADER_OVERFLOW, …). */
export type ParseError = Error & { code: string; reason?: string; bytesParsed?: number };

export type HeadersComplete = (
  versionMajor: number,
  versionMinor: number,
  headers: string[] | undefined,
  method: number,
  url: string | undefined,
  statusCode: number,
  statusMessage: string | undefined,
  upgrade: boolean,
  shouldKeepAlive: boolean,
) => number;

export type Parser = {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  consume(handle: unknown): void;
  unconsume(): void;
  execute(data: Buffer): number | ParseError;
  /** The end of the input: completes a body that runs to the end of the connection. */
  finish(): number | ParseError;
  getCurrentBuffer(): Buffer;
  close(): void;
  remove(): void;
  free(): void;
  [k: number]: unknown;
};

type ParserModule = {
  HTTPParser: {
    new (): Parser;
    REQUEST: number;
    RESPONSE: number;
    kOnMessageBegin: number;
    kOnHeaders: number;
    kOnHeadersComplete: number;
    kOnBody: number;
    kOnMessageComplete: number;
    kOnExecute: number;
  };
  methods: string[];
  _checkIsHttpToken(s: string): boolean;
  _checkInvalidHeaderChar(s: string): boolean;
};

const common = createRequire(import.meta.url)('_http_common') as ParserModule;

export const HTTPParser = common.HTTPParser;
/** llhttp's method numbers, as names. */
export const METHODS: readonly string[] = common.methods;
export const kOnMessageBegin = HTTPParser.kOnMessageBegin;
export const kOnHeaders = HTTPParser.kOnHeaders;
export const kOnHeadersComplete = HTTPParser.kOnHeadersComplete;
export const kOnBody = HTTPParser.kOnBody;
export const kOnMessageComplete = HTTPParser.kOnMessageComplete;
export const kOnExecute = HTTPParser.kOnExecute;
/** A field name is a token (RFC 9110 §5.1). */
export const isToken = common._checkIsHttpToken;
/** A field value holds a character HTTP does not allow (CR, LF, NUL, other controls). */
export const hasInvalidChar = common._checkInvalidHeaderChar;

/** What a connection does at each part of a message (onMessageBegin: the server's only). */
export type ParserCallbacks = {
  readonly onMessageBegin?: () => void;
  /** Headers that took more than one read arrive in parts before onHeadersComplete. */
  readonly onHeaders: (headers: string[], url: string) => void;
  readonly onHeadersComplete: HeadersComplete;
  readonly onBody: (chunk: Buffer) => void;
  readonly onMessageComplete: () => void;
  /** After each read the parser took from a socket it consumes. */
  readonly onExecute: (ret: number | ParseError) => void;
};

/** A parser of requests or of responses, heads limited to maxHeaderBytes, calling `cb`. */
export function newParser(type: 'request' | 'response', maxHeaderBytes: number, cb: ParserCallbacks): Parser {
  const p = new HTTPParser();
  resetParser(p, type, maxHeaderBytes);
  setCallbacks(p, cb);
  return p;
}

function setCallbacks(p: Parser, cb: ParserCallbacks): void {
  if (cb.onMessageBegin) p[kOnMessageBegin] = cb.onMessageBegin;
  p[kOnHeaders] = cb.onHeaders;
  p[kOnHeadersComplete] = cb.onHeadersComplete;
  p[kOnBody] = cb.onBody;
  p[kOnMessageComplete] = cb.onMessageComplete;
  p[kOnExecute] = cb.onExecute;
}

function nothing(): number {
  return 0;
}

/** What a spare parser calls: nothing, and it holds no connection alive. */
const UNBOUND: ParserCallbacks = {
  onMessageBegin: nothing,
  onHeaders: nothing,
  onHeadersComplete: nothing,
  onBody: nothing,
  onMessageComplete: nothing,
  onExecute: nothing,
};

/**
 * Request parsers that idle connections gave back, for the next connection that needs one.
 * Each holds ~6 KB the binding allocates outside V8's heap (measured: 1,000 parsers, 5.8 MB
 * more resident). The server's sweep gives back in batches (every connection idle long
 * enough at once), so the spares must cover a batch: with 32, 1,000 clients at 1 GET/s made
 * ~70 new parsers after each sweep; each lived past a scavenge, and V8 doubled its young
 * generation near the end of the bench's 10 s (peak 92-97 MiB, none lower than without
 * parking). With 256 (at most 1.5 MB idle), 88 MiB against 92-95 without parking.
 */
const spares: Parser[] = [];
const SPARES_MAX = 256;
let held = 0;

/** A request parser for a connection that has bytes to parse: a spare, reset, or a new one. */
export function takeRequestParser(maxHeaderBytes: number, cb: ParserCallbacks): Parser {
  held++;
  const p = spares.pop();
  if (p === undefined) return newParser('request', maxHeaderBytes, cb);
  resetParser(p, 'request', maxHeaderBytes);
  setCallbacks(p, cb);
  return p;
}

/**
 * Gives back a parser from takeRequestParser, at the start of a message and not consuming a
 * socket. `inCallback`: the parser may be running one of its callbacks, so it is freed once
 * they have unwound, never reused.
 */
export function giveBackRequestParser(p: Parser, inCallback: boolean): void {
  held--;
  setCallbacks(p, UNBOUND);
  if (inCallback) setImmediate(() => p.close());
  else if (spares.length < SPARES_MAX) spares.push(p);
  else p.close();
}

/** Request parsers connections hold now (spares not counted). */
export function requestParsersHeld(): number {
  return held;
}

/**
 * Puts a parser back at the start of a message, as new (its callbacks stay). After a head
 * whose onHeadersComplete returned 2 (stop here, as for an upgrade), llhttp keeps its upgrade
 * flag until the next head is complete, and while it is set Node's binding reports no parse
 * error: bad bytes that follow would be taken for nothing, silently.
 */
export function resetParser(p: Parser, type: 'request' | 'response', maxHeaderBytes: number): void {
  p.initialize(type === 'request' ? HTTPParser.REQUEST : HTTPParser.RESPONSE, {}, maxHeaderBytes, 0);
}

type StreamHandle = { isStreamBase?: boolean; readStart(): number; readStop(): number };

function handleOf(socket: Socket): StreamHandle | null {
  return (socket as unknown as { _handle: StreamHandle | null })._handle;
}

/** A socket llhttp can read by itself (consume): a plain TCP one, not TLS. */
export function parserCanConsume(socket: Socket): boolean {
  return handleOf(socket)?.isStreamBase === true;
}

/** Has `parser` read `socket` by itself from now on (only where parserCanConsume). */
export function consumeSocket(parser: Parser, socket: Socket): void {
  parser.consume(handleOf(socket));
}

/**
 * Feeds what `socket` receives to `parser`: read in C++ by the parser itself where the
 * socket allows it (returns true), otherwise (a socket of no stream handle) as 'data'
 * events handed to `onData`.
 */
export function attachParser(parser: Parser, socket: Socket, onData: (d: Buffer) => void): boolean {
  if (parserCanConsume(socket)) {
    consumeSocket(parser, socket);
    return true;
  }
  socket.on('data', onData);
  return false;
}

/** Stops (or starts again) reading a socket attached with attachParser: backpressure. */
export function setReading(socket: Socket, consumed: boolean, on: boolean): void {
  if (!consumed) {
    if (on) socket.resume();
    else socket.pause();
    return;
  }
  const handle = handleOf(socket);
  if (on) handle?.readStart();
  else handle?.readStop();
}

/** Lets go of a parser attached with attachParser: the socket is read as a plain stream again, the parser freed once its callbacks have unwound. */
export function detachParser(parser: Parser, socket: Socket, consumed: boolean, onData: (d: Buffer) => void): void {
  if (consumed) parser.unconsume();
  else socket.off('data', onData);
  setImmediate(() => parser.close());
}
