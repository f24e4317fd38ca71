// The error page as a visitor's browser shows it: served over HTTP with its own
// headers (so the CSP really has to allow the inline style and script), laid out by
// Chromium, and checked through the DOM rather than by matching markup.

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { type ErrorPageInput, renderErrorPage } from '../src/errors/error-page.ts';
import { PROXY_ERROR_TYPES, type ProxyErrorType } from '../src/errors/types.ts';
import { hasBrowser, launchBrowser } from './helpers/browser.ts';

// The callbacks passed to evaluate() run inside the page, where the DOM exists; this
// project compiles without DOM types, so these describe just what they use.
declare const document: {
  getElementById(id: string): { textContent: string | null } | null;
  documentElement: { scrollWidth: number };
};
declare const window: { innerWidth: number };
declare function getComputedStyle(el: unknown): { color: string; borderTopColor: string };

const ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const SCREENSHOT = new URL('../docs/img/error-page-502.png', import.meta.url);

function inputFor(type: ProxyErrorType, detail: string): ErrorPageInput {
  return {
    status: PROXY_ERROR_TYPES[type].status,
    type,
    detail,
    requestId: '01J9Z3K7Q2M4X8B5R6T0W1Y2V3',
    time: new Date('2025-06-01T12:34:56Z'),
    route: 'app',
    internals: null,
    retryAfterSeconds: null,
  };
}

const PAGES: Record<string, ErrorPageInput> = {
  '/refused': inputFor('connection_refused', 'connect_refused'),
  '/loop': inputFor('proxy_loop_detected', 'via_loop'),
};

/** The RGB channels of a computed CSS colour such as `rgb(201, 37, 45)`. */
function rgb(css: string): [number, number, number] {
  const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(css);
  assert.ok(m, `not an rgb() colour: ${css}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

function assertRed(css: string): void {
  const [r, g, b] = rgb(css);
  assert.ok(r > 150 && r > g + 80 && r > b + 80, `expected a red, got ${css}`);
}

async function stateOf(page: Page, selector: string): Promise<string | null> {
  return page.locator(selector).getAttribute('data-state');
}

describe('error page in Chromium', { skip: !hasBrowser() && 'no Chromium at /usr/bin/chromium' }, () => {
  let browser: Browser;
  let server: Server;
  let base = '';

  before(async () => {
    server = createServer((req, res) => {
      const input = PAGES[new URL(req.url ?? '/', 'http://x').pathname];
      if (input === undefined) {
        res.writeHead(404).end();
        return;
      }
      const page = renderErrorPage(input, req.headers.accept);
      res.writeHead(page.status, { 'content-type': page.contentType, ...page.headers }).end(page.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  async function open(
    path: string,
    options: { javaScriptEnabled?: boolean; width?: number; fakeClock?: boolean } = {},
  ): Promise<Page> {
    const context = await browser.newContext({
      javaScriptEnabled: options.javaScriptEnabled ?? true,
      viewport: { width: options.width ?? 1000, height: 800 },
      colorScheme: 'light',
      extraHTTPHeaders: { accept: ACCEPT },
    });
    const page = await context.newPage();
    if (options.fakeClock) await page.clock.install();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    const res = await page.goto(base + path);
    assert.equal(res?.status(), PROXY_ERROR_TYPES[PAGES[path]!.type].status);
    // A CSP hash that no longer matches shows up only as a console message.
    assert.deepEqual(violations, []);
    return page;
  }

  test('connection_refused marks the gateway → origin link and the origin', async () => {
    const page = await open('/refused');
    try {
      assert.equal((await page.locator('h1').textContent()) ?? '', '502 Bad Gateway');
      assert.equal(await stateOf(page, '[data-hop="browser"]'), 'ok');
      assert.equal(await stateOf(page, '[data-link="browser-gateway"]'), 'ok');
      assert.equal(await stateOf(page, '[data-hop="gateway"]'), 'ok');
      assert.equal(await stateOf(page, '[data-link="gateway-origin"]'), 'failed');
      assert.equal(await stateOf(page, '[data-hop="origin"]'), 'failed');

      const origin = page.locator('[data-hop="origin"]');
      assert.ok(await origin.isVisible());
      assertRed(await origin.evaluate((el) => getComputedStyle(el).color));
      assertRed(await origin.evaluate((el) => getComputedStyle(el).borderTopColor));
      assert.match((await origin.textContent()) ?? '', /✕/);
      const link = page.locator('[data-link="gateway-origin"]');
      assert.ok(await link.isVisible());
      assertRed(await link.evaluate((el) => getComputedStyle(el).color));
      assert.match((await link.textContent()) ?? '', /✕/);
      assert.doesNotMatch((await page.locator('[data-hop="gateway"]').textContent()) ?? '', /✕/);

      const retry = page.locator('#retry');
      assert.ok(await retry.isVisible());
      // Starts at 10 s; on a loaded machine a second or two may already have passed.
      const m = /This page will retry by itself in (\d+) s/.exec((await retry.textContent()) ?? '');
      assert.ok(m, 'the countdown is shown');
      const first = Number(m[1]);
      assert.ok(first >= 1 && first <= 10, `countdown starts at ${first}`);
      // The countdown runs.
      await page.waitForFunction((n) => Number(document.getElementById('count')?.textContent) < n, first, { timeout: 3000 });

      await mkdir(new URL('.', SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT.pathname, fullPage: true });
    } finally {
      await page.context().close();
    }
  });

  test('proxy_loop_detected marks the gateway and does not retry', async () => {
    const page = await open('/loop');
    try {
      assert.equal(await stateOf(page, '[data-hop="gateway"]'), 'failed');
      assert.equal(await stateOf(page, '[data-hop="browser"]'), 'ok');
      assert.equal(await stateOf(page, '[data-link="browser-gateway"]'), 'ok');
      assert.equal(await stateOf(page, '[data-link="gateway-origin"]'), 'unknown');
      assert.equal(await stateOf(page, '[data-hop="origin"]'), 'unknown');
      const gateway = page.locator('[data-hop="gateway"]');
      assert.ok(await gateway.isVisible());
      assertRed(await gateway.evaluate((el) => getComputedStyle(el).color));

      const text = (await page.locator('main').textContent()) ?? '';
      assert.doesNotMatch(text, /retry by itself/);
      assert.match(text, /operators have been told/);
      assert.equal(await page.locator('#retry').count(), 0);
    } finally {
      await page.context().close();
    }
  });

  test('without JavaScript the page offers a link instead of a countdown', async () => {
    const page = await open('/refused', { javaScriptEnabled: false });
    try {
      assert.equal(await page.locator('#retry').isVisible(), false);
      const tryAgain = page.getByRole('link', { name: 'Try again', exact: true });
      assert.ok(await tryAgain.isVisible());
    } finally {
      await page.context().close();
    }
  });

  test('on a phone the chain stacks and nothing overflows sideways', async () => {
    const page = await open('/refused', { width: 360 });
    try {
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `page is ${overflow}px wider than the viewport`);
      const browserBox = await page.locator('[data-hop="browser"]').boundingBox();
      const originBox = await page.locator('[data-hop="origin"]').boundingBox();
      assert.ok(browserBox && originBox && originBox.y > browserBox.y + browserBox.height);
      assert.ok(await page.locator('[data-hop="origin"]').isVisible());
    } finally {
      await page.context().close();
    }
  });

  test('the retry reloads the page by itself, backing off each time', async () => {
    const page = await open('/refused', { fakeClock: true });
    try {
      assert.equal((await page.locator('#count').textContent()) ?? '', '10');
      const reloaded = page.waitForResponse((r) => r.url().endsWith('/refused'));
      await page.clock.runFor(10_500);
      assert.equal((await reloaded).status(), 502);
      await page.waitForLoadState();
      assert.equal((await page.locator('#count').textContent()) ?? '', '20');
    } finally {
      await page.context().close();
    }
  });
});
