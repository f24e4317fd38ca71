import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { Readable } from 'node:stream';
import { H1Request } from './h1/request.ts';
import type { OutgoingHeaders } from './h1/response.ts';

/**
 * A client's request as the pipeline reads it: from the gateway's own HTTP/1 server, or from
 * Node's (an HTTP/2 stream, or the HTTP/1.1 fallback of an HTTP/2 listener).
 */
export type ClientRequest = H1Request | IncomingMessage | Http2ServerRequest;

/**
 * The response the pipeline writes: the members it uses, which the gateway's HTTP/1
 * response and Node's ServerResponse and Http2ServerResponse all have, with one meaning.
 */
export interface ClientResponse {
  statusCode: number;
  readonly headersSent: boolean;
  readonly writableFinished: boolean;
  readonly destroyed: boolean;
  writeHead(status: number, headers: OutgoingHeaders): unknown;
  writeHead(status: number, message: string, headers: OutgoingHeaders): unknown;
  /** `validated`: the names and values are known valid (parsed by llhttp, or the gateway's own): not checked again. */
  writeHead(status: number, message: string, headers: OutgoingHeaders, validated: true): unknown;
  /** false: the client is slow, wait for 'drain'. */
  write(chunk: Buffer): boolean;
  end(chunk?: string | Buffer): unknown;
  destroy(err?: Error): unknown;
  /** Once, when the response is over: written whole (writableFinished) or cut short. */
  on(event: 'close', listener: () => void): unknown;
  once(event: 'drain', listener: () => void): unknown;
}

/** The request's body as a stream (Node's request objects are their own body). */
export function requestBody(req: ClientRequest): Readable {
  return req instanceof H1Request ? req.body : req;
}
