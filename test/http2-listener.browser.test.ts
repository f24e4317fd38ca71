// Chromium on the HTTP/2 listener: the browser negotiates h2, and the explained error page
// arrives whole over it, with its status and Proxy-Status.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { type RunningOrigin, startOrigin } from '../src/lab/origin.ts';
import { TLS_CERT_PATH, TLS_KEY_PATH } from '../src/lab/tls-fixture.ts';
import { hasBrowser, launchBrowser } from './helpers/browser.ts';
import { type TestGateway, startTestGateway } from './helpers/start-gateway.ts';

// Evaluated inside the page; the project compiles without DOM types.
declare const performance: { getEntriesByType(t: string): { nextHopProtocol: string }[] };
declare const document: { querySelector(s: string): { textContent: string | null } | null };

let healthy: RunningOrigin;
let offline: RunningOrigin;
let gw: TestGateway;
let browser: Browser;

before(async () => {
  healthy = await startOrigin({ fault: 'healthy' });
  offline = await startOrigin({ fault: 'offline' });
  gw = await startTestGateway(`
listen: [{ address: 127.0.0.1:0, tls: { cert: ${TLS_CERT_PATH}, key: ${TLS_KEY_PATH}, http2: true } }]
upstreams:
  app: { endpoints: ["${healthy.url}"] }
  down: { endpoints: ["${offline.url}"] }
routes:
  - { path: /down, upstream: down }
  - { path: /, upstream: app }
`);
  if (hasBrowser()) browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await gw?.stop(100);
  await healthy?.close();
  await offline?.close();
});

test('Chromium speaks h2 to the gateway and gets the explained 502 page over it', { skip: !hasBrowser() && 'no Chromium at /usr/bin/chromium' }, async () => {
  // The lab certificate is self-signed: this test is about the protocol, not trust.
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  try {
    const page = await context.newPage();
    const base = `https://localhost:${gw.addresses[0]!.port}`;
    const ok = await page.goto(`${base}/`);
    assert.equal(ok?.status(), 200);
    assert.equal(await page.evaluate(() => performance.getEntriesByType('navigation')[0]!.nextHopProtocol), 'h2');
    const down = await page.goto(`${base}/down`);
    assert.equal(down?.status(), 502);
    assert.match((await down!.allHeaders())['proxy-status'] ?? '', /error=connection_refused/);
    assert.equal(await page.evaluate(() => performance.getEntriesByType('navigation')[0]!.nextHopProtocol), 'h2');
    const title = await page.evaluate(() => document.querySelector('h1')?.textContent ?? '');
    assert.match(title, /.+/, 'the page has a heading');
  } finally {
    await context.close();
  }
});
