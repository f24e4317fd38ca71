// The HTTP hop: one request over the connection the earlier hops opened, judged. A 5xx,
// or an error member in Proxy-Status whatever the status, is a failure: it is some server
// on the path saying it could not do its job.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { codedError, codeOf, probeFailure } from './failure.ts';
import type { Exchange, ExchangeRequest } from './exchange.ts';
import { exchangeHttp1 } from './http1.ts';
import { exchangeHttp2 } from './http2.ts';
import { explainProxyStatus, revealingHeaders } from './reveal.ts';
import { hostPort } from './tcp.ts';
import type { ExplainedProxyStatus, HttpStep, ProbeFailure } from './types.ts';

export async function probeHttp(socket: Socket | TLSSocket, h2: boolean, port: number, r: ExchangeRequest): Promise<HttpStep> {
  const address = socket.remoteAddress ?? '';
  const endpoint = hostPort(address, port);
  const x = h2 ? await exchangeHttp2(socket as TLSSocket, r) : await exchangeHttp1(socket, r);
  const proxyStatus = explainProxyStatus(x.headers);
  return {
    address,
    httpVersion: x.httpVersion,
    status: x.status,
    statusText: x.statusText,
    ttfbMs: x.ttfbMs,
    totalMs: x.totalMs,
    bytes: x.bytes,
    truncated: x.truncated,
    headers: revealingHeaders(x.headers),
    proxyStatus,
    failure: judge(x, proxyStatus, endpoint, r.timeoutMs),
  };
}

function judge(x: Exchange, proxyStatus: ExplainedProxyStatus[], endpoint: string, timeoutMs: number): ProbeFailure | null {
  const answered = x.status !== null;
  if (x.error !== null) {
    const ctx = { progress: answered ? ('streaming' as const) : ('sent' as const), endpoint, connectMs: 0, responseMs: timeoutMs };
    if (x.timedOut) {
      return answered
        ? probeFailure(codedError('UND_ERR_BODY_TIMEOUT', 'body timeout'), ctx, `the response body from ${endpoint} did not finish within ${timeoutMs} ms (${x.bytes} bytes came)`, 'BODY_TIMEOUT')
        : probeFailure(codedError('UND_ERR_HEADERS_TIMEOUT', 'headers timeout'), ctx, `${endpoint} sent no response within ${timeoutMs} ms`, 'RESPONSE_TIMEOUT');
    }
    const why = `${codeOf(x.error) || 'error'}: ${(x.error as Error).message}`;
    return answered
      ? probeFailure(x.error, ctx, `the response from ${endpoint} broke off after ${x.bytes} body bytes (${why})`)
      : probeFailure(x.error, ctx, `${endpoint} accepted the request but failed before answering (${why})`);
  }
  // The member nearest the origin that names an error is where the trouble began.
  const reported = proxyStatus.find((m) => m.error !== null);
  const status = x.status ?? 0;
  if (reported === undefined && status < 500) return null;
  const line = `${status}${x.statusText ? ` ${x.statusText}` : ''} from ${endpoint}`;
  if (reported !== undefined) {
    const title = reported.title ? `: ${reported.title}` : '';
    return {
      code: `HTTP_${status}`,
      type: reported.title !== null ? (reported.error as ProbeFailure['type']) : null,
      message: `${line}; ${reported.proxy} reports ${reported.error}${title}`,
    };
  }
  return { code: `HTTP_${status}`, type: null, message: `${line}, with no Proxy-Status to say why` };
}
