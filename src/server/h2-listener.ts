import { readFileSync } from 'node:fs';
import type { EventEmitter } from 'node:events';
import type { Http2Session, ServerHttp2Session, createSecureServer } from 'node:http2';
import type { Config, ListenTls } from '../config/schema.ts';
import type { AccessOutput } from '../observe/access-log.ts';
import { type Handlers, type Listener, clientErrorHandler, http1Options, renew, tlsErrorHandler, trackSockets } from './listener.ts';
import { SniCertificates } from './sni.ts';

/**
 * A TLS listener that offers HTTP/2 by ALPN and HTTP/1.1 to clients that do not speak it.
 * Requests of both reach the same pipeline: Node's compatibility API gives HTTP/2 streams
 * the request/response shape of HTTP/1 (rawHeaders, writeHead, write, end, 'close'), and
 * the pipeline handles what differs (pseudo-headers, no status message, no Connection).
 *
 * An HTTP/2 connection with no stream open is closed after client.keep_alive_timeout
 * (GOAWAY, then close); one waiting on a slow origin is left alone. A graceful stop
 * sends GOAWAY at once, so clients open no new streams while those in flight finish.
 */
export function createH2Listener(config: Config, tls: ListenTls, pipeline: Handlers, accessLog: AccessOutput): Listener {
  const sni = tls.sni.length > 0 ? new SniCertificates(tls) : null;
  // node:http2 is loaded only for an HTTP/2 listener: a gateway without one leaves it (and its memory) unloaded.
  const server = process.getBuiltinModule('node:http2').createSecureServer(
    {
      cert: readFileSync(tls.cert),
      key: readFileSync(tls.key),
      allowHTTP1: true,
      SNICallback: sni?.callback,
      maxSessionMemory: 10,
      // Streams at once per connection: without a bound one connection could open thousands.
      settings: { maxHeaderListSize: config.client.maxHeaderBytes, maxConcurrentStreams: 128 },
    },
    // The compatibility objects are used through the same members as HTTP/1's (see above).
    pipeline.handle as unknown as Parameters<typeof createSecureServer>[1],
  );
  if (config.client.maxConnections !== null) server.maxConnections = config.client.maxConnections;
  // Read by Node's HTTP/1 server for the fallback connections, as on an HTTP/1 listener.
  Object.assign(server, http1Options(config));
  // Every accepted socket, handshake or not, so a stop can close them all.
  const sockets = trackSockets(server);
  const sessions = new Set<Http2Session>();
  const idleMs = config.client.keepAliveTimeoutMs;
  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    // Node's own session timeout counts silence even while a stream waits on a slow origin,
    // and fires once; this one runs only while no stream is open.
    let open = 0;
    let idle: NodeJS.Timeout | null = setTimeout(() => session.close(), idleMs);
    session.on('stream', (stream) => {
      open++;
      if (idle) clearTimeout(idle);
      idle = null;
      stream.once('close', () => {
        if (--open === 0 && !session.closed) idle = setTimeout(() => session.close(), idleMs);
      });
    });
    session.once('close', () => {
      if (idle) clearTimeout(idle);
      sessions.delete(session);
    });
    // A client that breaks the protocol loses its connection; the gateway carries on.
    session.on('error', () => session.destroy());
  });
  // HTTP/1.1 fallback connections meet Node's HTTP/1 parser, with the same page for what it
  // refuses, and WebSocket upgrades; the HTTP/2 server's types do not list these events.
  const events = server as unknown as EventEmitter;
  events.on('clientError', clientErrorHandler(config, accessLog));
  server.on('tlsClientError', tlsErrorHandler(config, accessLog, server));
  events.on('upgrade', pipeline.handleUpgrade);
  return {
    server,
    // GOAWAY to every session: no new streams, those in flight finish.
    closeIdle: () => {
      for (const session of sessions) session.close();
    },
    closeAll: () => {
      for (const s of sockets) s.destroy();
    },
    renewCertificate: (at) => renew(server, at, sni),
  };
}
