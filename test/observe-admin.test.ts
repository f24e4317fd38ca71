// The admin listener: off by default, open on loopback, locked by a token beyond it.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConfigError, parseConfigText } from '../src/config/load.ts';
import { send } from './helpers/client.ts';
import { startTestGateway, type TestGateway } from './helpers/start-gateway.ts';

const UPSTREAM = 'upstreams: { app: { endpoints: [http://127.0.0.1:1] } }\nroutes: [{ upstream: app }]\n';
const TOKEN = 'tok-4f1c2a9e7b3d5c80';

describe('admin bound beyond loopback', () => {
  let gw: TestGateway;
  let base: string;

  before(async () => {
    gw = await startTestGateway(`admin: { listen: "0.0.0.0:0", token: ${TOKEN} }\n${UPSTREAM}`);
    assert.equal(gw.observe.admin!.address.address, '0.0.0.0');
    // Bound on every interface, but the test talks to it only over loopback.
    base = `http://127.0.0.1:${gw.observe.admin!.address.port}`;
  });

  after(() => gw.stop(1000));

  for (const path of ['/metrics', '/api/status', '/api/events', '/', '/assets/dashboard.js', '/nope']) {
    test(`${path} without a token is 401`, async () => {
      const r = await send(`${base}${path}`);
      assert.ok(r.ok);
      assert.equal(r.status, 401);
      assert.equal(r.headers['www-authenticate'], 'Bearer realm="gatewise admin"');
      assert.doesNotMatch(r.body, /gatewise_|"pools"/);
    });
  }

  test('a wrong token, or another scheme, is 401', async () => {
    for (const authorization of [`Bearer ${TOKEN}x`, `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`, 'Bearer', TOKEN]) {
      const r = await send(`${base}/metrics`, { headers: { authorization } });
      assert.ok(r.ok && r.status === 401, authorization);
    }
    const r = await send(`${base}/metrics`, { headers: { cookie: 'gatewise_admin=wrong' } });
    assert.ok(r.ok && r.status === 401);
  });

  test('the right bearer token opens every endpoint', async () => {
    const headers = { authorization: `Bearer ${TOKEN}` };
    const metrics = await send(`${base}/metrics`, { headers });
    assert.ok(metrics.ok && metrics.status === 200);
    assert.match(metrics.body, /^# HELP gatewise_requests_total /m);
    const status = await send(`${base}/api/status`, { headers });
    assert.ok(status.ok && status.status === 200);
    assert.equal((JSON.parse(status.body) as { pools: { name: string }[] }).pools[0]!.name, 'app');
  });

  test('a browser logs in once with ?token= and then carries an HTTP-only cookie', async () => {
    const login = await send(`${base}/?token=${TOKEN}`);
    assert.ok(login.ok && login.status === 303);
    assert.equal(login.headers.location, '/');
    const cookie = String(login.headers['set-cookie']);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const page = await send(`${base}/`, { headers: { cookie: cookie.split(';')[0]! } });
    assert.ok(page.ok && page.status === 200);
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'/);
    assert.match(page.body, /<script src="\/assets\/uPlot\.iife\.min\.js">/);
    const wrong = await send(`${base}/?token=nope`);
    assert.ok(wrong.ok && wrong.status === 401);
  });
});

describe('admin on loopback', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway(`admin: { listen: "127.0.0.1:0" }\n${UPSTREAM}`);
  });
  after(() => gw.stop(1000));

  test('needs no token, serves the dashboard and its assets from node_modules, refuses writes', async () => {
    const base = gw.observe.admin!.url;
    for (const [path, type] of [
      ['/', 'text/html'],
      ['/assets/uPlot.iife.min.js', 'text/javascript'],
      ['/assets/uPlot.min.css', 'text/css'],
      ['/assets/dashboard.css', 'text/css'],
      ['/healthz', 'text/plain'],
    ] as const) {
      const r = await send(`${base}${path}`);
      assert.ok(r.ok && r.status === 200, path);
      assert.ok(String(r.headers['content-type']).startsWith(type), `${path}: ${r.headers['content-type']}`);
    }
    const post = await send(`${base}/metrics`, { method: 'POST', body: '' });
    assert.ok(post.ok && post.status === 405);
    const missing = await send(`${base}/etc/passwd`);
    assert.ok(missing.ok && missing.status === 404);
  });

  test('/api/events sends a snapshot, then ticks every second', async () => {
    const res = await fetch(`${gw.observe.admin!.url}/api/events`);
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const reader = res.body!.getReader();
    let text = '';
    const end = Date.now() + 5_000;
    while (!/event: tick/.test(text) && Date.now() < end) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    const snapshot = /event: snapshot\ndata: (.*)\n/.exec(text);
    assert.ok(snapshot, text.slice(0, 200));
    const doc = JSON.parse(snapshot[1]!) as { status: { gateway: { name: string } }; series: unknown[] };
    assert.equal(doc.status.gateway.name, 'gatewise');
    assert.ok(Array.isArray(doc.series));
    assert.match(text, /event: tick\ndata: \{"seconds":\[/);
  });
});

test('the admin listener is off by default', async () => {
  const gw = await startTestGateway(UPSTREAM);
  try {
    assert.equal(gw.observe.admin, null);
  } finally {
    await gw.stop(1000);
  }
});

describe('admin configuration', () => {
  const issue = (yaml: string) => {
    try {
      parseConfigText(`${yaml}\n${UPSTREAM}`, 'gw.yaml');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.issues.map((i) => `${i.line}:${i.path}: ${i.message}${i.hint ? ` (hint: ${i.hint})` : ''}`);
    }
    return [];
  };

  test('beyond loopback without a token is an error at the listen address', () => {
    assert.deepEqual(issue('admin: { listen: "0.0.0.0:9090" }'), [
      '1:admin.listen: admin listens on 0.0.0.0, beyond loopback, without a token (hint: set admin.token (16 characters or more), or listen on 127.0.0.1)',
    ]);
    assert.equal(issue('admin: { listen: "[::]:9090" }').length, 1);
    assert.equal(issue('admin: { listen: "10.0.0.5:9090" }').length, 1);
  });

  test('loopback needs no token; a short token is refused', () => {
    assert.deepEqual(issue('admin: { listen: "127.0.0.1:9090" }'), []);
    assert.deepEqual(issue('admin: { listen: "[::1]:9090" }'), []);
    assert.deepEqual(issue('admin: { listen: "localhost:9090" }'), []);
    assert.deepEqual(issue('admin: { listen: "0.0.0.0:9090", token: short }'), ['1:admin.token: must be at least 16 characters']);
    assert.deepEqual(issue('admin: { listen: "9090" }'), ['1:admin.listen: "9090" has no host (hint: write 127.0.0.1:9090 (this machine only) or 0.0.0.0:9090 (all interfaces))']);
  });
});
