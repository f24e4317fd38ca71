// One h2 exchange, for servers that pick h2 in ALPN (most CDNs do): after that choice the
// connection cannot carry HTTP/1.1, and a browser would speak h2 to them too.
import http2 from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { elapsed } from './clock.ts';
import { type Exchange, type ExchangeRequest, MAX_BODY_BYTES, USER_AGENT } from './exchange.ts';

/** Connection-specific headers are forbidden in h2 (RFC 9113 §8.2.2). */
const NOT_IN_H2 = new Set(['host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

export function exchangeHttp2(socket: TLSSocket, r: ExchangeRequest): Promise<Exchange> {
  const started = performance.now();
  const signal = AbortSignal.timeout(r.timeoutMs);
  return new Promise((resolve) => {
    let status: number | null = null;
    let headers: Record<string, string | string[] | undefined> = {};
    let ttfbMs: number | null = null;
    let bytes = 0;
    let settled = false;
    const session = http2.connect(`https://${r.authority}`, { createConnection: () => socket });
    const finish = (error: unknown, truncated = false) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onTimeout);
      session.destroy();
      socket.destroy();
      resolve({ httpVersion: status === null ? null : '2', status, statusText: null, headers, ttfbMs, totalMs: elapsed(started), bytes, truncated, error, timedOut: signal.aborted && error !== null });
    };
    const onTimeout = () => finish(new Error('timeout'));
    signal.addEventListener('abort', onTimeout, { once: true });
    session.on('error', (err) => finish(err));
    const extra = Object.fromEntries(Object.entries(r.headers).filter(([k]) => !NOT_IN_H2.has(k)));
    const stream = session.request({
      ':method': r.method,
      ':path': r.path,
      ':authority': r.authority,
      'user-agent': USER_AGENT,
      accept: '*/*',
      ...extra,
    });
    stream.on('response', (h) => {
      ttfbMs = elapsed(started);
      status = Number(h[':status']);
      headers = Object.fromEntries(Object.entries(h).filter(([k]) => !k.startsWith(':')));
    });
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes >= MAX_BODY_BYTES) finish(null, true);
    });
    stream.on('end', () => finish(null));
    stream.on('error', (err) => finish(err));
    stream.on('close', () => finish(stream.rstCode === http2.constants.NGHTTP2_NO_ERROR ? null : new Error(`stream reset (code ${stream.rstCode})`)));
    stream.end();
  });
}
