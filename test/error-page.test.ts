import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type CustomPages,
  chooseFormat,
  type ErrorPageInput,
  loadCustomPages,
  renderErrorPage,
} from '../src/errors/error-page.ts';
import { ERROR_PAGE_CSP } from '../src/errors/page-html.ts';
import { appendProxyStatus, formatProxyStatusMember, parseProxyStatus } from '../src/errors/proxy-status.ts';
import { PROXY_ERROR_TYPES, type ProxyErrorType } from '../src/errors/types.ts';

const CHROME_ACCEPT =
  'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7';
const FIREFOX_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const CURL_ACCEPT = '*/*';

function input(over: Partial<ErrorPageInput> = {}): ErrorPageInput {
  const type: ProxyErrorType = over.type ?? 'connection_refused';
  return {
    status: PROXY_ERROR_TYPES[type].status,
    type,
    detail: 'connect_refused',
    requestId: 'req-123',
    time: new Date('2025-06-01T12:34:56.789Z'),
    route: 'app',
    internals: null,
    retryAfterSeconds: null,
    ...over,
  };
}

describe('Proxy-Status', () => {
  test('formats a member with tokens, strings and numbers', () => {
    assert.equal(
      formatProxyStatusMember({ name: 'gatewise', error: 'connection_refused', details: 'connect_refused', nextHop: 'app' }),
      'gatewise; error=connection_refused; details="connect_refused"; next-hop="app"',
    );
    assert.equal(
      formatProxyStatusMember({ name: 'gw', error: 'dns_error', receivedStatus: 503, params: { rcode: 'NXDOMAIN', 'info-code': 7 } }),
      'gw; error=dns_error; received-status=503; rcode="NXDOMAIN"; info-code=7',
    );
    assert.equal(formatProxyStatusMember({ name: 'gw' }), 'gw');
  });

  test('quotes a name that is not a token, escapes and drops what sf-strings cannot carry', () => {
    assert.equal(formatProxyStatusMember({ name: 'my proxy' }), '"my proxy"');
    assert.equal(formatProxyStatusMember({ name: '1gw' }), '"1gw"');
    assert.equal(
      formatProxyStatusMember({ name: 'gw', details: 'say "hi" \\ bye\r\nX-Injected: 1 é' }),
      'gw; details="say \\"hi\\" \\\\ byeX-Injected: 1 "',
    );
  });

  test('drops parameters whose key is not an sf-key or whose value is not a number it can write', () => {
    assert.equal(
      formatProxyStatusMember({ name: 'gw', params: { Bad: 'x', 'ok-key': 1.23456, inf: Number.POSITIVE_INFINITY, error: 'dup' } }),
      'gw; ok-key=1.235',
    );
  });

  test('appends after the origin member, whatever shape the existing header has', () => {
    assert.equal(appendProxyStatus(undefined, 'gw'), 'gw');
    assert.equal(appendProxyStatus('', 'gw'), 'gw');
    assert.equal(appendProxyStatus('origin; error=http_protocol_error', 'gw'), 'origin; error=http_protocol_error, gw');
    assert.equal(appendProxyStatus(['a', 'b, c,'], 'gw'), 'a, b, c, gw');
  });

  test('parses what it formats', () => {
    const member = formatProxyStatusMember({
      name: 'gatewise',
      error: 'connection_timeout',
      details: 'a "quoted", value; with separators',
      nextHop: 'app',
      receivedStatus: 504,
    });
    assert.deepEqual(parseProxyStatus(member), [
      {
        name: 'gatewise',
        params: {
          error: 'connection_timeout',
          details: 'a "quoted", value; with separators',
          'next-hop': 'app',
          'received-status': 504,
        },
      },
    ]);
  });

  test('parses a chain of members, edge first', () => {
    const chain = appendProxyStatus(
      'edge; error=connection_timeout; details="origin slow", "Other CDN"; error=tls_alert_received; alert-id=40; cached=?0',
      'gw; error=http_response_timeout; fwd',
    );
    assert.deepEqual(parseProxyStatus(chain), [
      { name: 'edge', params: { error: 'connection_timeout', details: 'origin slow' } },
      { name: 'Other CDN', params: { error: 'tls_alert_received', 'alert-id': 40, cached: false } },
      { name: 'gw', params: { error: 'http_response_timeout', fwd: true } },
    ]);
  });

  test('skips a malformed member and keeps the others', () => {
    assert.deepEqual(parseProxyStatus('good; error=dns_error, ;;bad ~, (inner list), also; x=1.5'), [
      { name: 'good', params: { error: 'dns_error' } },
      { name: 'also', params: { x: 1.5 } },
    ]);
    assert.deepEqual(parseProxyStatus(''), []);
    assert.deepEqual(parseProxyStatus('gw; details="unterminated'), [{ name: 'gw', params: { details: 'unterminated' } }]);
  });
});

describe('chooseFormat', () => {
  const cases: [string | undefined, 'html' | 'problem' | 'text'][] = [
    [CHROME_ACCEPT, 'html'],
    [FIREFOX_ACCEPT, 'html'],
    ['application/xhtml+xml', 'html'],
    [CURL_ACCEPT, 'text'],
    [undefined, 'text'],
    ['', 'text'],
    ['text/plain', 'text'],
    ['application/json', 'problem'],
    ['application/problem+json', 'problem'],
    // axios: JSON named first, the wildcard as a fallback.
    ['application/json, text/plain, */*', 'problem'],
    ['text/html;q=0.5, application/json', 'problem'],
    ['application/json;q=0.4, text/html;q=0.9', 'html'],
    ['text/plain, text/html;q=0.5', 'text'],
    ['text/html;q=0, */*', 'text'],
    ['TEXT/HTML', 'html'],
    ['application/json;q=garbage', 'problem'],
    ['text/html; charset="a,b"; q=0.1, text/plain;q=0.2', 'text'],
    ['image/webp', 'text'],
  ];
  for (const [accept, want] of cases) {
    test(`${JSON.stringify(accept)} → ${want}`, () => assert.equal(chooseFormat(accept), want));
  }
});

describe('renderErrorPage: text', () => {
  test('a few lines a terminal user can act on', () => {
    const page = renderErrorPage(input(), CURL_ACCEPT);
    assert.equal(page.status, 502);
    assert.equal(page.contentType, 'text/plain; charset=utf-8');
    const lines = page.body.trimEnd().split('\n');
    assert.equal(lines[0], '502 Bad Gateway — The origin server refused the connection');
    assert.ok(lines.includes('hop: gateway → origin'));
    assert.ok(lines.includes('proxy-status: connection_refused (connect_refused)'));
    assert.ok(lines.includes('request id: req-123'));
    assert.ok(lines.includes('retry: in 10 s'));
    assert.ok(lines.some((l) => l.startsWith('what to check: Nothing listens')));
  });

  test('hop wording follows the type table', () => {
    assert.match(renderErrorPage(input({ type: 'proxy_loop_detected', detail: 'via_loop' }), undefined).body, /^hop: gateway$/m);
    assert.match(renderErrorPage(input({ type: 'http_request_error', detail: 'bad' }), undefined).body, /^hop: browser → gateway$/m);
    assert.doesNotMatch(renderErrorPage(input({ type: 'proxy_loop_detected' }), undefined).body, /^retry:/m);
  });

  test('hostile values cannot forge lines or drive the terminal', () => {
    const page = renderErrorPage(input({ requestId: 'x\r\nproxy-status: ok\u001b[31m', detail: 'd\n' }), undefined);
    assert.doesNotMatch(page.body, /\u001b|\r/);
    assert.equal(page.body.match(/^proxy-status:/gm)?.length, 1);
  });
});

describe('renderErrorPage: problem+json', () => {
  test('RFC 9457 members and the gateway extensions', () => {
    const page = renderErrorPage(input(), 'application/json');
    assert.equal(page.contentType, 'application/problem+json');
    const doc = JSON.parse(page.body);
    assert.deepEqual(doc, {
      type: 'https://gatewise.dev/errors/connection_refused',
      title: 'The origin server refused the connection',
      status: 502,
      detail: 'The origin server refused the connection. Retrying in 10 s may succeed.',
      instance: 'urn:request:req-123',
      proxy_status: 'connection_refused',
      details: 'connect_refused',
      hop: 'origin',
      route: 'app',
      request_id: 'req-123',
      time: '2025-06-01T12:34:56.789Z',
      retryable: true,
      retry_after: 10,
      operator_hint: PROXY_ERROR_TYPES.connection_refused.operator,
    });
  });

  test('non-transient types are not retryable; retryAfterSeconds overrides the default', () => {
    const loop = JSON.parse(renderErrorPage(input({ type: 'proxy_loop_detected', route: null }), 'application/problem+json').body);
    assert.equal(loop.status, 502);
    assert.equal(loop.retryable, false);
    assert.equal(loop.retry_after, null);
    assert.equal(loop.hop, 'gateway');
    assert.equal(loop.route, null);
    const busy = renderErrorPage(input({ type: 'connection_limit_reached', retryAfterSeconds: 2.2 }), 'application/json');
    assert.equal(busy.status, 503);
    assert.equal(JSON.parse(busy.body).retry_after, 3);
    assert.equal(busy.headers['retry-after'], '3');
  });

  test('internals appear only when given', () => {
    const without = JSON.parse(renderErrorPage(input(), 'application/json').body);
    assert.equal('endpoint' in without, false);
    assert.equal('message' in without, false);
    const withIt = JSON.parse(
      renderErrorPage(input({ internals: { endpoint: '10.0.0.7:8080', message: 'connect ECONNREFUSED 10.0.0.7:8080' } }), 'application/json')
        .body,
    );
    assert.equal(withIt.endpoint, '10.0.0.7:8080');
    assert.equal(withIt.message, 'connect ECONNREFUSED 10.0.0.7:8080');
  });
});

describe('renderErrorPage: html', () => {
  test('a self-contained, accessible page with the chain and both audiences', () => {
    const page = renderErrorPage(input(), CHROME_ACCEPT);
    assert.equal(page.contentType, 'text/html; charset=utf-8');
    assert.equal(page.headers['content-security-policy'], ERROR_PAGE_CSP);
    assert.equal(page.headers['cache-control'], 'no-store');
    assert.equal(page.headers['vary'], 'accept');
    assert.equal(page.headers['retry-after'], '10');
    const html = page.body;
    assert.match(html, /^<!doctype html>\n<html lang="en">/);
    assert.match(html, /<h1><span class="code">502<\/span> Bad Gateway<\/h1>/);
    assert.match(html, /The origin server refused the connection/);
    assert.match(html, /What you can do/);
    assert.match(html, /For the site’s operator/);
    assert.match(html, /This page will retry by itself in/);
    assert.match(html, /data-seconds="10"/);
    assert.match(html, /<noscript>.*Try again.*<\/noscript>/s);
    assert.match(html, /<code>connection_refused<\/code>/);
    assert.match(html, /<code>connect_refused<\/code>/);
    assert.match(html, /<code>req-123<\/code>/);
    assert.match(html, /2025-06-01 12:34:56Z/);
    // Nothing loaded from elsewhere: the failing network may be the reason for this page.
    assert.doesNotMatch(html, /\b(src|href)="(?!#|")/);
    assert.doesNotMatch(html, /<link\b|@import|url\(/);
    assert.match(html, /data-hop="browser" data-state="ok"/);
    assert.match(html, /data-link="browser-gateway" data-state="ok"/);
    assert.match(html, /data-hop="gateway" data-state="ok"/);
    assert.match(html, /data-link="gateway-origin" data-state="failed"/);
    assert.match(html, /data-hop="origin" data-state="failed"/);
  });

  test('a gateway failure marks the gateway and leaves the origin unknown', () => {
    const html = renderErrorPage(input({ type: 'proxy_loop_detected', detail: 'via_loop' }), CHROME_ACCEPT).body;
    assert.match(html, /data-hop="gateway" data-state="failed"/);
    assert.match(html, /data-link="gateway-origin" data-state="unknown"/);
    assert.match(html, /data-hop="origin" data-state="unknown"/);
    assert.match(html, /data-hop="browser" data-state="ok"/);
    assert.doesNotMatch(html, /retry by itself|<script>/);
    assert.match(html, /operators have been told/);
  });

  test('a client failure marks the browser and its link', () => {
    const html = renderErrorPage(input({ type: 'http_request_error', detail: 'bad_request_line' }), CHROME_ACCEPT).body;
    assert.match(html, /<h1><span class="code">400<\/span> Bad Request<\/h1>/);
    assert.match(html, /data-hop="browser" data-state="failed"/);
    assert.match(html, /data-link="browser-gateway" data-state="failed"/);
    assert.match(html, /data-hop="gateway" data-state="ok"/);
  });

  test('every type renders in every format', () => {
    for (const type of Object.keys(PROXY_ERROR_TYPES) as ProxyErrorType[]) {
      for (const accept of [CHROME_ACCEPT, 'application/json', undefined]) {
        const page = renderErrorPage(input({ type, detail: 'x' }), accept);
        assert.equal(page.status, PROXY_ERROR_TYPES[type].status, type);
        assert.ok(page.body.includes(type), type);
      }
    }
  });

  test('the CSP allows exactly the inline style and script the page carries', async () => {
    const { createHash } = await import('node:crypto');
    const html = renderErrorPage(input(), CHROME_ACCEPT).body;
    const hash = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
    assert.ok(ERROR_PAGE_CSP.includes(`style-src ${hash(style)}`));
    assert.ok(ERROR_PAGE_CSP.includes(`script-src ${hash(script)}`));
    assert.match(ERROR_PAGE_CSP, /default-src 'none'/);
  });
});

describe('hostile input', () => {
  const XSS = '"><script>alert(1)</script><img src=x onerror=alert(2)>\'';
  test('is escaped in the HTML page', () => {
    const html = renderErrorPage(
      input({ detail: XSS, requestId: XSS, route: XSS, internals: { endpoint: XSS, message: XSS } }),
      CHROME_ACCEPT,
    ).body;
    assert.doesNotMatch(html, /<script>alert|<img src=x/);
    assert.match(html, /&#60;script&#62;alert\(1\)&#60;\/script&#62;/);
    // The page's own script is the only one.
    assert.equal(html.match(/<script>/g)?.length, 1);
  });

  test('is escaped in custom templates', () => {
    const custom: CustomPages = { byStatus: new Map(), fallback: '<p>{{detail}} {{requestId}}</p>' };
    const html = renderErrorPage(input({ detail: XSS, requestId: XSS }), CHROME_ACCEPT, custom).body;
    assert.doesNotMatch(html, /<script>|<img/);
  });

  test('stays a string inside JSON', () => {
    const doc = JSON.parse(renderErrorPage(input({ detail: XSS, requestId: XSS }), 'application/json').body);
    assert.equal(doc.details, XSS);
    assert.equal(doc.instance, `urn:request:${XSS}`);
  });
});

describe('internals', () => {
  const secret = { endpoint: '10.9.8.7:8080', message: 'connect ECONNREFUSED 10.9.8.7:8080' };
  test('never leak unless the operator allowed them', () => {
    for (const accept of [CHROME_ACCEPT, 'application/json', undefined]) {
      for (const type of Object.keys(PROXY_ERROR_TYPES) as ProxyErrorType[]) {
        const body = renderErrorPage(input({ type }), accept).body;
        assert.doesNotMatch(body, /10\.9\.8\.7|\b\d{1,3}(\.\d{1,3}){3}\b|ECONNREFUSED/, `${type} ${accept}`);
      }
    }
  });

  test('are shown in every format when allowed', () => {
    for (const accept of [CHROME_ACCEPT, 'application/json', undefined]) {
      const body = renderErrorPage(input({ internals: secret }), accept).body;
      assert.match(body, /10\.9\.8\.7:8080/);
      assert.match(body, /connect ECONNREFUSED/);
    }
    const noEndpoint = renderErrorPage(input({ internals: { endpoint: null, message: 'no route' } }), CHROME_ACCEPT).body;
    assert.doesNotMatch(noEndpoint, />Endpoint</);
    assert.match(noEndpoint, />Message<\/dt><dd>no route</);
  });
});

describe('robustness', () => {
  test('a bad time, status or retry hint still renders', () => {
    const page = renderErrorPage(
      input({ time: new Date(Number.NaN), status: 42, retryAfterSeconds: Number.NaN }),
      'application/json',
    );
    const doc = JSON.parse(page.body);
    assert.equal(page.status, 500);
    assert.match(doc.time, /^\d{4}-\d\d-\d\dT/);
    assert.equal(doc.retry_after, 10);
  });
});

describe('custom pages', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatewise-pages-'));
    await writeFile(join(dir, '502.html'), '<h1>{{status}} at {{ hop }}</h1><p>{{title}}|{{type}}|{{detail}}|{{requestId}}|{{time}}|{{operator}}|{{unknown}}</p>');
    await writeFile(join(dir, 'default.html'), '<h1>Sorry ({{status}})</h1>');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('load by status with a default, and are used for HTML only', async () => {
    const pages = await loadCustomPages({ '502': join(dir, '502.html'), default: join(dir, 'default.html') });
    assert.equal(pages.byStatus.size, 1);

    const html = renderErrorPage(input(), CHROME_ACCEPT, pages);
    assert.equal(html.contentType, 'text/html; charset=utf-8');
    assert.equal(
      html.body,
      `<h1>502 at origin</h1><p>The origin server refused the connection|connection_refused|connect_refused|req-123|2025-06-01T12:34:56.789Z|${PROXY_ERROR_TYPES.connection_refused.operator}|{{unknown}}</p>`,
    );
    // The operator's page may load its own assets, so ours must not forbid them.
    assert.equal(html.headers['content-security-policy'], undefined);

    const timeout = renderErrorPage(input({ type: 'connection_timeout' }), CHROME_ACCEPT, pages);
    assert.equal(timeout.status, 504);
    assert.equal(timeout.body, '<h1>Sorry (504)</h1>');

    assert.equal(JSON.parse(renderErrorPage(input(), 'application/json', pages).body).status, 502);
    assert.match(renderErrorPage(input(), CURL_ACCEPT, pages).body, /^502 Bad Gateway/);
  });

  test('without a default, other statuses get the built-in page', async () => {
    const pages = await loadCustomPages({ '502': join(dir, '502.html') });
    assert.match(renderErrorPage(input({ type: 'connection_timeout' }), CHROME_ACCEPT, pages).body, /^<!doctype html>/);
  });

  test('reject bad keys and missing files with the path in the message', async () => {
    await assert.rejects(loadCustomPages({ '200': join(dir, '502.html') }), /"200".*4xx\/5xx/);
    await assert.rejects(loadCustomPages({ '503': join(dir, 'missing.html') }), /missing\.html/);
  });
});
