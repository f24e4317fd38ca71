// The live dashboard in Chromium, fed by a real gateway under a bounded load while an
// origin is killed: the page itself must turn that origin red and list the failure with
// its cause. The screenshot is the one the README shows.

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { type RunningOrigin, startOrigin } from '../src/lab/origin.ts';
import { hasBrowser, launchBrowser } from './helpers/browser.ts';
import { startLoad } from './helpers/load.ts';
import { startTestGateway, type TestGateway } from './helpers/start-gateway.ts';

declare function getComputedStyle(el: unknown): { backgroundColor: string };

const SCREENSHOT = new URL('../docs/img/dashboard.png', import.meta.url);

function assertRed(css: string): void {
  const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(css);
  assert.ok(m, `not an rgb() colour: ${css}`);
  const [r, g, b] = [Number(m[1]), Number(m[2]), Number(m[3])];
  assert.ok(r > 150 && r > g + 80 && r > b + 80, `expected a red, got ${css}`);
}

let browser: Browser;
let gw: TestGateway;
const origins: RunningOrigin[] = [];

before(async () => {
  if (!hasBrowser()) return;
  for (let i = 0; i < 3; i++) origins.push(await startOrigin({ fault: 'healthy' }));
  const [web1, web2, api] = origins as [RunningOrigin, RunningOrigin, RunningOrigin];
  gw = await startTestGateway(`
name: edge-1
admin: { listen: "127.0.0.1:0" }
upstreams:
  web: { endpoints: [${web1.url}, ${web2.url}] }
  api: { endpoints: [${api.url}], health: { passive: null } }
routes:
  - { name: api, path: /api, upstream: api }
  - { name: web, path: /, upstream: web }
synthetic:
  - { name: home, url: /, origin: ${web1.url}/, interval: 1s, timeout: 500ms }
  - { name: api, url: /api/health, origin: ${api.url}/health, interval: 1s, timeout: 500ms }
alerts:
  slo: [{ route: api, availability: 0.99 }]
  windows: [{ long: 30s, short: 3s, burn_rate: 2 }]
`);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await gw?.stop(1000);
  await Promise.all(origins.map((o) => o.close()));
});

test('the dashboard turns a killed origin red and lists the failure with its cause', { skip: !hasBrowser() && 'no Chromium' }, async () => {
  const api = origins[2]!;
  const web2 = origins[1]!;
  const load = startLoad(gw.url, ['/', '/api/items', '/', '/static/app.js'], { concurrency: 3, pauseMs: 40, max: 4_000 });
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    await page.goto(gw.observe.admin!.url);
    const apiNode = page.locator(`[data-endpoint="${api.host}:${api.port}"].endpoint`);
    await apiNode.and(page.locator('[data-health="up"]')).waitFor({ timeout: 10_000 });
    // A few seconds of healthy traffic, so the charts show the before and the after.
    await new Promise((r) => setTimeout(r, 8_000));

    await api.stop();
    await web2.stop();
    await page.locator(`[data-endpoint="${api.host}:${api.port}"].endpoint[data-health="failing"], [data-endpoint="${api.host}:${api.port}"].endpoint[data-health="down"]`).waitFor({ timeout: 10_000 });
    assertRed(await apiNode.locator('.dot').evaluate((el) => getComputedStyle(el).backgroundColor));
    assert.match((await apiNode.textContent()) ?? '', /refused/);

    // The refusal itself, or "no endpoint available" once the gateway holds the endpoint
    // out because of it: the row names the refusal either way.
    const row = page.locator('#failures tbody tr[data-cause="connection_refused"], #failures tbody tr[data-cause="destination_unavailable"]').first();
    await row.waitFor({ timeout: 10_000 });
    const text = (await row.textContent()) ?? '';
    const cause = await row.getAttribute('data-cause');
    assert.match(text, cause === 'connection_refused' ? /The origin server refused the connection/ : /No origin server is available right now/);
    assert.match(text, /refused|connection_refused/);
    assert.match(text, cause === 'connection_refused' ? new RegExp(`gateway → ${api.host}:${api.port}`) : /gateway → (upstream api|127\.0\.0\.1:\d+)/);
    // The list also holds the synthetic check's own failed probes through the gateway, which
    // the load never sent; and the dashboard hears of a failure as the gateway answers it,
    // which can be before the client has read that answer: give the client a moment.
    const rows = page.locator('#failures tbody tr[data-cause]');
    const clientSaw = async () => {
      const ids = await rows.evaluateAll((els) => els.map((el) => [el.getAttribute('data-request-id'), el.getAttribute('data-cause')]));
      return ids.some(([id, c]) => load.seen.some((s) => s.requestId === id && s.errorType === c));
    };
    for (let i = 0; i < 40 && !(await clientSaw()); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(await clientSaw(), 'the row names a request the client saw fail');

    // The synthetic check answers "everyone": the origin fails directly too.
    await page.locator('[data-check="api"][data-verdict="down"]').waitFor({ timeout: 10_000 });
    await page.locator('[data-alert="slo_availability:api"]').first().waitFor({ timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 6_000));
    await mkdir(new URL('.', SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT.pathname, fullPage: true });
    await page.close();
  } finally {
    await load.stop();
  }
});
