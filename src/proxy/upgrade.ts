import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { classifyUpstreamError } from '../errors/classify.ts';
import { ProxyError } from '../errors/proxy-error.ts';
import type { ClientRequest } from '../server/exchange.ts';
import { H1Response } from '../server/h1/response.ts';
import type { RequestCtx } from '../server/request-ctx.ts';
import type { EndpointState } from '../upstream/pool.ts';
import { type SocketFacts, awaitSocketFacts } from '../upstream/socket-tracker.ts';
import { clientResponseHeaders } from './headers.ts';

type IncomingHttpHeaders = Record<string, string | string[] | undefined>;

export type TunnelInput = {
  readonly ctx: RequestCtx;
  readonly endpoint: EndpointState;
  readonly path: string;
  readonly headers: string[];
  readonly protocol: string;
  /** Bytes the client sent after its request head, already read by Node. */
  readonly head: Buffer;
  readonly clientSocket: Duplex;
  readonly name: string;
  readonly proxyStatusMember: string;
  readonly timeouts: { connectMs: number; responseHeaderMs: number; idleMs: number };
};

/** A response on the upgrade socket, so a failed upgrade gets the same error page as any request; the connection ends with it. */
export function responseOnSocket(req: ClientRequest, socket: Duplex): H1Response {
  const res = new H1Response(socket, UPGRADE_OWNER, { method: req.method ?? 'GET', minor: 1, keepAlive: false });
  socket.once('close', () => {
    if (!res.writableFinished) res.lost();
  });
  return res;
}

const UPGRADE_OWNER = {
  keepAliveSeconds: 0,
  responseDone: (res: H1Response) => res.socket.end(),
};

/**
 * Upgrade (WebSocket) pass-through: the request goes to the origin with its Upgrade header;
 * on 101 the two sockets are joined byte for byte until either side closes. Resolves when
 * the tunnel is up, rejects with a ProxyError when the origin would not switch.
 */
export class Tunnel implements Dispatcher.DispatchHandler {
  private readonly input: TunnelInput;
  private readonly facts: SocketFacts = { reused: false, timings: null, socket: null, idleMs: null };
  private sent = false;
  private resolve!: (closed: Promise<void>) => void;
  private reject!: (e: ProxyError) => void;

  constructor(input: TunnelInput) {
    this.input = input;
  }

  open(): Promise<Promise<void>> {
    const p = new Promise<Promise<void>>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    const { endpoint, path, headers, protocol } = this.input;
    endpoint.dispatcher.get().dispatch({ path, method: 'GET', headers, upgrade: protocol }, this);
    return p;
  }

  onRequestStart(): void {
    this.sent = true;
    awaitSocketFacts(this.facts);
  }

  onRequestUpgrade(_c: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, upstream: Duplex): void {
    const { ctx, clientSocket, head, name, proxyStatusMember } = this.input;
    ctx.upstreamStatus = statusCode;
    const out = clientResponseHeaders(headers, name, `${proxyStatusMember}; received-status=${statusCode}`, ctx.requestId);
    let text = `HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: ${this.input.protocol}\r\n`;
    for (let i = 0; i < out.length; i += 2) text += `${out[i]}: ${out[i + 1]}\r\n`;
    clientSocket.write(`${text}\r\n`);
    ctx.res.statusCode = 101;
    if (head.length > 0) upstream.write(head);
    const closed = new Promise<void>((done) => {
      let open = 2;
      const end = (): void => {
        if (--open === 0) done();
      };
      upstream.on('data', (chunk: Buffer) => {
        ctx.bytes += chunk.length;
      });
      upstream.pipe(clientSocket);
      clientSocket.pipe(upstream);
      // Either side going away ends the tunnel: a half-open WebSocket is of no use.
      upstream.once('close', () => {
        clientSocket.destroy();
        end();
      });
      clientSocket.once('close', () => {
        upstream.destroy();
        end();
      });
      upstream.on('error', () => clientSocket.destroy());
      clientSocket.on('error', () => upstream.destroy());
    });
    this.resolve(closed);
  }

  /**
   * Any answer but 101: undici hands an upgrade request's other answers over as an ordinary
   * response, which would never open the tunnel. The tunnel fails here, with the status in
   * the log, and the answer's body is not read.
   */
  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number): void {
    this.input.ctx.upstreamStatus = statusCode;
    const e = this.refused(null);
    this.reject(e);
    controller.abort(e);
  }

  onResponseData(): void {}

  onResponseEnd(): void {
    this.reject(this.refused(null));
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    const { timeouts } = this.input;
    const e = classifyUpstreamError(err, { progress: this.sent ? 'sent' : 'connecting', hop: this.hop(), limits: timeouts });
    if (e.type === 'connection_terminated' || e.type === 'http_response_incomplete' || e.type === 'http_protocol_error') {
      if ((err as { message?: string }).message === 'bad upgrade' || this.input.ctx.upstreamStatus !== null) {
        this.reject(this.refused(err));
        return;
      }
    }
    this.reject(e);
  }

  private hop() {
    const { endpoint } = this.input;
    return { pool: endpoint.pool, endpoint: endpoint.address, attempt: 1, reused: this.facts.reused };
  }

  private refused(cause: unknown): ProxyError {
    const { endpoint, protocol, ctx } = this.input;
    const answered = ctx.upstreamStatus !== null && ctx.upstreamStatus !== 101 ? ` (it answered ${ctx.upstreamStatus})` : '';
    return new ProxyError({
      type: 'http_upgrade_failed',
      detail: 'upstream_refused_upgrade',
      message: `${endpoint.address} did not switch protocols to ${protocol}${answered}`,
      source: 'upstream',
      origin: 'remote',
      stage: 'headers',
      retry: 'no',
      hop: this.hop(),
      ...(cause ? { cause } : {}),
    });
  }
}
