import { readFileSync } from 'node:fs';
import type { ServerOptions } from 'node:http';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Config, Listen } from '../config/schema.ts';
import { classifyClientError } from '../errors/classify.ts';
import { formatProxyStatusMember } from '../errors/proxy-status.ts';
import { renderErrorPage } from '../errors/error-page.ts';
import { type AccessOutput, logWarning } from '../observe/access-log.ts';
import { publishTlsFailure } from '../observe/events.ts';
import type { Pipeline } from '../proxy/pipeline.ts';
import { createH2Listener } from './h2-listener.ts';
import type { H1Limits } from './h1/connection.ts';
import { createH1Server } from './h1/server.ts';
import { SniCertificates } from './sni.ts';
import { newRequestId } from './request-id.ts';

/** What a listener hands requests to: the current pipeline (it changes on reload). */
export type Handlers = Pick<Pipeline, 'handle' | 'handleUpgrade'>;

/** What the gateway needs of a listener, whatever protocol it speaks. */
export type Listener = {
  readonly server: NetServer;
  /** Closes the connections with no request in flight (a graceful stop begins). */
  closeIdle(): void;
  /** Closes every connection (the grace period is over). */
  closeAll(): void;
  /**
   * Reads a TLS listener's certificate and key again (a reload after a renewal): new
   * handshakes get them, connections already open keep theirs. Returns a problem, or null.
   */
  renewCertificate(at: Listen): string | null;
};

const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

/**
 * One HTTP/1.1 listener, in clear or terminating TLS, on the gateway's HTTP/1 server
 * (server/h1/). llhttp rejects malformed requests before any handler runs; clientError
 * turns that into a 4xx with a Proxy-Status and a log line, and the request never reaches
 * an origin. An HTTP/2 listener is Node's (h2-listener.ts).
 */
export function createListener(config: Config, at: Listen, pipeline: Handlers, accessLog: AccessOutput): Listener {
  if (at.tls?.http2) return createH2Listener(config, at.tls, pipeline, accessLog);
  const sni = at.tls && at.tls.sni.length > 0 ? new SniCertificates(at.tls) : null;
  // The files were checked as a pair when the configuration was loaded (config/load.ts).
  // A failed handshake only closes that connection.
  const tls = at.tls ? { cert: readFileSync(at.tls.cert), key: readFileSync(at.tls.key), SNICallback: sni?.callback } : null;
  const h1 = createH1Server(tls, h1Limits(config), {
    request: (req, res) => pipeline.handle(req, res),
    upgrade: (req, socket, head) => pipeline.handleUpgrade(req, socket, head),
    clientError: clientErrorHandler(config, accessLog),
  });
  const { server } = h1;
  if (config.client.maxConnections !== null) server.maxConnections = config.client.maxConnections;
  if (at.tls) server.on('tlsClientError', tlsErrorHandler(config, accessLog, server));
  // Sockets still in their TLS handshake are no connection of the HTTP server yet, and would
  // otherwise hold a stop until the handshake timeout.
  const handshaking = at.tls ? trackSockets(server) : new Set<Socket>();
  return {
    server,
    closeIdle: () => h1.closeIdle(),
    closeAll: () => {
      h1.closeAll();
      for (const s of handshaking) s.destroy();
    },
    renewCertificate: (next) => renew(server, next, sni),
  };
}

function h1Limits(config: Config): H1Limits {
  return {
    headersTimeoutMs: config.client.headerTimeoutMs,
    requestTimeoutMs: config.client.requestTimeoutMs,
    keepAliveTimeoutMs: config.client.keepAliveTimeoutMs,
    maxHeaderBytes: config.client.maxHeaderBytes,
  };
}

/** The client limits as Node's HTTP/1 server takes them (an HTTP/2 listener's fallback too). */
export function http1Options(config: Config): ServerOptions {
  return {
    headersTimeout: config.client.headerTimeoutMs,
    requestTimeout: config.client.requestTimeoutMs,
    keepAliveTimeout: config.client.keepAliveTimeoutMs,
    maxHeaderSize: config.client.maxHeaderBytes,
    // Slow-client timeouts are checked on this period; 1 s keeps them close to their value.
    connectionsCheckingInterval: 1000,
    requireHostHeader: true,
  };
}

/** Every socket the server accepts, until it closes: what a stop destroys when the grace is over. */
export function trackSockets(server: NetServer): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  return sockets;
}

/** HTTP/1.x requests Node's parser refused: a 4xx page, a Proxy-Status and a log line. */
export function clientErrorHandler(config: Config, accessLog: AccessOutput): (err: NodeJS.ErrnoException, socket: Duplex) => void {
  return (err, socket) => {
    const peer = (socket as Partial<Socket>).remoteAddress ?? '';
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const e = classifyClientError(err);
    const requestId = newRequestId();
    const status = e.status === 499 ? 400 : e.status;
    const page = renderErrorPage(
      { status, type: e.type, detail: e.detail, requestId, time: new Date(), route: null, internals: null, retryAfterSeconds: null },
      undefined,
    );
    const member = formatProxyStatusMember({ name: config.name, error: e.type, details: e.detail });
    socket.end(
      `HTTP/1.1 ${status} ${REASONS[status] ?? 'Bad Request'}\r\n` +
        `content-type: ${page.contentType}\r\ncontent-length: ${Buffer.byteLength(page.body)}\r\n` +
        Object.entries(page.headers)
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join('') +
        `proxy-status: ${member}\r\nx-request-id: ${requestId}\r\nconnection: close\r\n\r\n${page.body}`,
    );
    logWarning(
      accessLog,
      {
        reqId: requestId,
        client: peer,
        method: null,
        host: null,
        path: null,
        status,
        bytes: 0,
        durationMs: 0,
        route: null,
        upstream: null,
        upstreamStatus: null,
        attempts: 0,
        error: { type: e.type, detail: e.detail, stage: e.stage, source: e.source, message: e.message },
      },
      `${status} ${e.type}`,
    );
  };
}

/** Reads a TLS listener's certificates again: its own, and those it picks by SNI. */
/**
 * A client's failed TLS handshake: counted by reason (gatewise_tls_handshake_failures_total).
 * A plain-HTTP request on a TLS port (OpenSSL recognises it in place of a handshake) is also
 * answered, in clear on the connection under the TLS socket: a 400 that says to use https://
 * (as nginx does), rather than a connection closed without a word.
 */
export function tlsErrorHandler(config: Config, accessLog: AccessOutput, server: NetServer): (err: NodeJS.ErrnoException, socket: Duplex) => void {
  const answer = clientErrorHandler(config, accessLog);
  return (err, socket) => {
    const at = server.address() as AddressInfo | null;
    if (at) publishTlsFailure({ listener: `${at.address}:${at.port}`, reason: (err.code ?? 'unknown').replace(/^ERR_SSL_/, '').toLowerCase() });
    // Node keeps the TCP socket under a server-side TLS socket as `_parent`.
    const raw = (socket as Duplex & { _parent?: Socket })._parent;
    if (err.code === 'ERR_SSL_HTTP_REQUEST' && raw?.writable) answer(err, raw);
  };
}

export function renew(server: NetServer, at: Listen, sni: SniCertificates | null): string | null {
  if (!at.tls || !(server instanceof process.getBuiltinModule('node:tls').Server)) return null;
  try {
    server.setSecureContext({ cert: readFileSync(at.tls.cert), key: readFileSync(at.tls.key) });
    sni?.reload(at.tls);
    return null;
  } catch (err) {
    return `listen ${at.host}:${at.port}: the certificate was not renewed, the running one stays: ${(err as Error).message}`;
  }
}

export function listen(server: NetServer, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
