// One HTTP/1.1 exchange over the socket the earlier hops opened, so the timings of each hop
// add up to one real request instead of a second connection that may land elsewhere.
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { elapsed } from './clock.ts';
import { type Exchange, type ExchangeRequest, MAX_BODY_BYTES, USER_AGENT } from './exchange.ts';

export function exchangeHttp1(socket: Duplex, r: ExchangeRequest): Promise<Exchange> {
  const started = performance.now();
  const signal = AbortSignal.timeout(r.timeoutMs);
  return new Promise((resolve) => {
    let res: http.IncomingMessage | null = null;
    let ttfbMs: number | null = null;
    let bytes = 0;
    let settled = false;
    const finish = (error: unknown, truncated = false) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onTimeout);
      socket.destroy();
      resolve({
        httpVersion: res ? res.httpVersion : null,
        status: res?.statusCode ?? null,
        statusText: res?.statusMessage ?? null,
        headers: res?.headers ?? {},
        ttfbMs,
        totalMs: elapsed(started),
        bytes,
        truncated,
        error,
        timedOut: signal.aborted && error !== null,
      });
    };
    const req = http.request({
      createConnection: () => socket,
      method: r.method,
      path: r.path,
      headers: { host: r.authority, 'user-agent': USER_AGENT, accept: '*/*', ...r.headers, connection: 'close' },
    });
    const onTimeout = () => req.destroy(new Error('timeout'));
    signal.addEventListener('abort', onTimeout, { once: true });
    req.on('error', (err) => finish(err));
    req.on('response', (response) => {
      res = response;
      ttfbMs = elapsed(started);
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes >= MAX_BODY_BYTES) finish(null, true);
      });
      response.on('end', () => finish(null));
      response.on('error', (err) => finish(err));
      response.on('close', () => finish(response.complete ? null : new Error('the response ended early')));
    });
    req.end();
  });
}
