// The page a visitor gets when the gateway cannot serve a request. One view of the
// failure is built here and handed to three renderers, so the HTML page, the problem
// document and the plain text always tell the same story.

import { readFile } from 'node:fs/promises';
import { STATUS_CODES } from '../http1/status-codes.ts';
import { renderHtml, renderTemplate } from './page-html.ts';
import { renderProblem } from './page-problem.ts';
import { renderText } from './page-text.ts';
import { type Hop, isProxyErrorType, PROXY_ERROR_TYPES, type ProxyErrorType } from './types.ts';

export type ErrorPageInput = {
  status: number;
  type: ProxyErrorType;
  detail: string;
  requestId: string;
  time: Date;
  /** Route name, or null when no route matched. */
  route: string | null;
  /** Only set when the operator enabled exposeInternals: endpoint address and the full message. */
  internals: { endpoint: string | null; message: string } | null;
  retryAfterSeconds: number | null;
};

export type RenderedPage = {
  status: number;
  contentType: string;
  body: string;
  /**
   * Headers that belong with this body: cache-control, nosniff, vary, the page's CSP,
   * and retry-after when the page itself promises a retry. Proxy-Status is not here: it
   * depends on what the origin already said (appendProxyStatus).
   */
  headers: Record<string, string>;
};

export type CustomPages = {
  byStatus: Map<number, string /* template text */>;
  fallback: string | null;
};

export type PageFormat = 'html' | 'problem' | 'text';

/** The failure resolved once from the input. Values are raw: each renderer escapes for its format. */
export type PageView = {
  status: number;
  /** "Bad Gateway" */
  reason: string;
  type: ProxyErrorType;
  detail: string;
  title: string;
  operator: string;
  hop: Hop;
  transient: boolean;
  requestId: string;
  /** ISO 8601, UTC. */
  time: string;
  route: string | null;
  internals: { endpoint: string | null; message: string } | null;
  /** Seconds until a retry is worth it, or null when retrying will not help by itself. */
  retryAfter: number | null;
};

/** Used when the failure is transient but nobody said how long it will last. */
export const DEFAULT_RETRY_SECONDS = 10;

const HTML_TYPES = ['text/html', 'application/xhtml+xml'];
const PROBLEM_TYPES = ['application/problem+json', 'application/json'];

/**
 * Picks the page format from Accept. HTML and problem+json are chosen only when the
 * client names them: a bare wildcard is what curl and scripts send, and a terminal is
 * better served by a few lines of text than by markup or JSON. Between named types
 * the higher q wins, then the one listed first.
 */
export function chooseFormat(accept: string | undefined): PageFormat {
  if (accept === undefined || accept.trim() === '') return 'text';
  let best: { format: PageFormat; q: number } | null = null;
  let textQ = -1;
  for (const range of splitAccept(accept)) {
    const [rawType = '', ...params] = range.split(';');
    const type = rawType.trim().toLowerCase();
    let q = 1;
    for (const p of params) {
      const [k = '', v = ''] = p.split('=');
      if (k.trim().toLowerCase() === 'q') {
        const n = Number.parseFloat(v.trim());
        q = Number.isFinite(n) ? Math.min(Math.max(n, 0), 1) : 1;
      }
    }
    const format: PageFormat | null = HTML_TYPES.includes(type)
      ? 'html'
      : PROBLEM_TYPES.includes(type)
        ? 'problem'
        : null;
    if (format === null) {
      if (type === 'text/plain' || type === 'text/*' || type === '*/*') textQ = Math.max(textQ, q);
      continue;
    }
    if (q <= 0) continue;
    // Strictly greater, so that on a tie the type listed first keeps its place.
    if (best === null || q > best.q) best = { format, q };
  }
  if (best === null) return 'text';
  // Text wins only when asked for more strongly than anything we would render richly.
  return textQ > best.q ? 'text' : best.format;
}

/** Splits on commas outside quoted parameter values. */
function splitAccept(accept: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of accept) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.filter((r) => r.trim() !== '');
}

export function buildView(input: ErrorPageInput): PageView {
  // An error page must never fail to render, whatever reached it.
  const type: ProxyErrorType = isProxyErrorType(input.type) ? input.type : 'proxy_internal_error';
  const info = PROXY_ERROR_TYPES[type];
  const status = Number.isInteger(input.status) && input.status >= 400 && input.status <= 599 ? input.status : 500;
  const hinted =
    input.retryAfterSeconds !== null && Number.isFinite(input.retryAfterSeconds) && input.retryAfterSeconds >= 0
      ? Math.ceil(input.retryAfterSeconds)
      : null;
  return {
    status,
    reason: STATUS_CODES[status] ?? 'Error',
    type,
    detail: String(input.detail ?? ''),
    title: info.title,
    operator: info.operator,
    hop: info.hop,
    transient: info.transient,
    requestId: String(input.requestId ?? ''),
    time: isoTime(input.time),
    route: input.route,
    internals: input.internals,
    retryAfter: info.transient ? (hinted ?? DEFAULT_RETRY_SECONDS) : hinted,
  };
}

function isoTime(t: unknown): string {
  const ms = t instanceof Date ? t.getTime() : Number.NaN;
  return new Date(Number.isFinite(ms) ? ms : Date.now()).toISOString();
}

export function renderErrorPage(input: ErrorPageInput, accept: string | undefined, custom?: CustomPages): RenderedPage {
  const view = buildView(input);
  const format = chooseFormat(accept);
  const headers: Record<string, string> = {
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    // The body depends on Accept; no-store already keeps it out of caches, this keeps
    // a cache that ignores no-store from serving HTML to curl.
    vary: 'accept',
  };
  if (view.retryAfter !== null) headers['retry-after'] = String(view.retryAfter);
  if (format === 'problem') {
    return { status: view.status, contentType: 'application/problem+json', body: renderProblem(view), headers };
  }
  if (format === 'text') {
    return { status: view.status, contentType: 'text/plain; charset=utf-8', body: renderText(view), headers };
  }
  const template = custom?.byStatus.get(view.status) ?? custom?.fallback ?? null;
  if (template !== null) {
    // The operator's page may load its own stylesheets and fonts: no CSP from us.
    return { status: view.status, contentType: 'text/html; charset=utf-8', body: renderTemplate(template, view), headers };
  }
  const html = renderHtml(view);
  headers['content-security-policy'] = html.csp;
  return { status: view.status, contentType: 'text/html; charset=utf-8', body: html.body, headers };
}

/**
 * Reads the operator's templates once, at config load, so that serving an error never
 * touches the disk. Keys are a status code ("502") or "default".
 */
export async function loadCustomPages(pages: Record<string, string>): Promise<CustomPages> {
  const byStatus = new Map<number, string>();
  let fallback: string | null = null;
  await Promise.all(
    Object.entries(pages).map(async ([key, path]) => {
      const isDefault = key === 'default';
      if (!isDefault && !/^[45]\d\d$/.test(key)) {
        throw new Error(`error page key "${key}" must be a 4xx/5xx status code or "default" (file ${path})`);
      }
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        throw new Error(`cannot read error page template for "${key}" at ${path}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      if (isDefault) fallback = text;
      else byStatus.set(Number(key), text);
    }),
  );
  return { byStatus, fallback };
}
