import { request } from 'node:http';
import { request as requestTls } from 'node:https';

export type ClientResult =
  | { ok: true; status: number; headers: Record<string, string | string[] | undefined>; body: string; complete: boolean }
  | { ok: false; code: string; message: string; status: number | null; bodyBytes: number };

export type ClientOptions = {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  timeoutMs?: number;
  /** https: the CA to trust and the name to expect (the lab's certificate is for localhost). */
  ca?: Buffer;
  servername?: string;
};

/**
 * One request over a fresh connection, as a visitor's client would send it. A response
 * cut in the middle comes back as { ok: false } with the status it had started with.
 */
export function send(url: string, opts: ClientOptions = {}): Promise<ClientResult> {
  return new Promise((resolve) => {
    let status: number | null = null;
    let bodyBytes = 0;
    const tls = url.startsWith('https:') ? { ca: opts.ca, servername: opts.servername } : {};
    const req = (url.startsWith('https:') ? requestTls : request)(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false, ...tls }, (res) => {
      status = res.statusCode ?? null;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        bodyBytes += c.length;
        chunks.push(c);
      });
      res.on('end', () =>
        resolve({ ok: true, status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString(), complete: res.complete }),
      );
      res.on('error', (e: NodeJS.ErrnoException) => resolve({ ok: false, code: e.code ?? 'ERR', message: e.message, status, bodyBytes }));
      res.on('aborted', () => resolve({ ok: false, code: 'ABORTED', message: 'response aborted', status, bodyBytes }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ ok: false, code: e.code ?? 'ERR', message: e.message, status, bodyBytes }));
    if (opts.timeoutMs) req.setTimeout(opts.timeoutMs, () => req.destroy(Object.assign(new Error('client timeout'), { code: 'CLIENT_TIMEOUT' })));
    req.end(opts.body);
  });
}

export function header(r: ClientResult, name: string): string {
  if (!r.ok) return '';
  const v = r.headers[name];
  return Array.isArray(v) ? v.join(', ') : (v ?? '');
}
