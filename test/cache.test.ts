// The response cache of a route: fresh copies answer without the origin, and a stored copy
// stands in for a failed origin (stale-if-error) — but never one that was personal, forbidden
// to go stale, of another variant, too large, or too old.
import assert from 'node:assert/strict';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { header, send } from './helpers/client.ts';
import { heldAtEachTryEnd } from './helpers/held-every-turn.ts';
import { parseMetrics, total } from './helpers/prom.ts';
import { type TestGateway, startTestGateway } from './helpers/start-gateway.ts';

type Mode = 'ok' | 'reset' | '503';
let mode: Mode = 'ok';
let served = 0;
/** 304s the origin sent, and the If-None-Match it last saw. */
let notModified = 0;
let lastIfNoneMatch: string | undefined;
let origin: Server;
let gw: TestGateway;

/** An origin whose answers depend on the last path segment, and which fails on demand for every path. */
function answer(path: string, lang: string | undefined): { headers: Record<string, string | string[]>; body: string } {
  const last = path.split('/').at(-1)!;
  const body = `${last}-${served}`;
  switch (last) {
    case 'fresh':
      return { headers: { 'cache-control': 'max-age=60' }, body };
    case 'cookie':
      return { headers: { 'set-cookie': 'session=abc' }, body };
    case 'private':
      return { headers: { 'cache-control': 'private, max-age=60' }, body };
    case 'revalidate':
      return { headers: { 'cache-control': 'max-age=0, must-revalidate' }, body };
    case 'vary':
      return { headers: { 'cache-control': 'max-age=0', vary: 'Accept-Language' }, body: `${body}-${lang}` };
    case 'big':
      return { headers: { 'cache-control': 'max-age=0' }, body: 'x'.repeat(4096) };
    case 'etag':
      return { headers: { 'cache-control': 'max-age=0', etag: '"v1"' }, body };
    case 'bare':
      return { headers: {}, body };
    case 'repeated':
      // Two Cache-Control and two Vary lines, as when a server in between adds its own.
      return { headers: { 'cache-control': ['public', 'max-age=60'], vary: ['Origin', 'Accept-Encoding'] }, body };
    default:
      // Stored, and stale at once: every request goes to the origin, the copy waits for a failure.
      return { headers: { 'cache-control': 'max-age=0' }, body };
  }
}

before(async () => {
  origin = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (mode === 'reset') {
        req.socket.destroy();
        return;
      }
      served++;
      if (mode === '503') {
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end('origin overloaded');
        return;
      }
      const path = new URL(req.url!, 'http://x').pathname;
      if (path.endsWith('/etag')) {
        lastIfNoneMatch = req.headers['if-none-match'];
        if (lastIfNoneMatch === '"v1"') {
          notModified++;
          res.writeHead(304, { etag: '"v1"', 'cache-control': 'max-age=0' });
          res.end();
          return;
        }
      }
      const a = answer(path, req.headers['accept-language'] as string | undefined);
      res.writeHead(200, { 'content-type': 'text/plain', ...a.headers });
      res.end(a.body);
    });
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  gw = await startTestGateway(`
name: gw-cache
admin: { listen: "127.0.0.1:0" }
upstreams:
  app:
    endpoints: ["http://127.0.0.1:${(origin.address() as AddressInfo).port}"]
    retry: { tries: 1 }
    health: { passive: null }
routes:
  - { path: /short, upstream: app, cache: { stale_if_error: 300ms } }
  - { path: /nocache, upstream: app }
  - { path: /, upstream: app, cache: { max_object: 2kb } }
`);
});

after(async () => {
  await gw?.stop(100);
  origin?.close();
});

async function failing<T>(m: Mode, fn: () => Promise<T>): Promise<T> {
  mode = m;
  try {
    return await fn();
  } finally {
    mode = 'ok';
  }
}

const get = (path: string, headers: Record<string, string> = {}) => send(`${gw.url}${path}`, { headers });

function okBody(r: Awaited<ReturnType<typeof send>>): { status: number; body: string; r: Extract<typeof r, { ok: true }> } {
  assert.ok(r.ok, JSON.stringify(r));
  return { status: r.status, body: r.body, r };
}

describe('fresh responses', () => {
  test('repeated Cache-Control and Vary lines are read as one list each', async () => {
    const first = okBody(await get('/a/repeated', { origin: 'https://a.example' }));
    const before = served;
    const again = okBody(await get('/a/repeated', { origin: 'https://a.example' }));
    assert.equal(served, before);
    assert.equal(again.body, first.body);
    assert.match(header(again.r, 'cache-status'), /; hit;/);
  });

  test('a HEAD is answered from a stored GET but never stored itself', async () => {
    // A fresh (max-age=60) answer: had the HEAD's been stored, the GET would get its empty body.
    okBody(await send(`${gw.url}/h/fresh`, { method: 'HEAD' }));
    const get1 = okBody(await get('/h/fresh'));
    assert.match(get1.body, /^fresh-\d+$/, 'the GET got its body, not the HEAD’s empty one');
  });

  test('a fresh copy answers without the origin, with Cache-Status hit and its Age; HEAD too', async () => {
    const first = okBody(await get('/a/fresh', { 'x-request-id': 'c-miss' }));
    assert.equal(header(first.r, 'cache-status'), 'gw-cache; fwd=uri-miss');
    const before = served;
    const second = okBody(await get('/a/fresh', { 'x-request-id': 'c-hit' }));
    assert.equal(served, before, 'the origin was not asked');
    assert.equal(second.body, first.body);
    assert.match(header(second.r, 'cache-status'), /^gw-cache; hit; ttl=(59|60)$/);
    assert.match(header(second.r, 'age'), /^\d+$/);
    assert.match(header(second.r, 'via'), /1\.1 gw-cache$/);
    assert.equal((await gw.logFor('c-hit')).cache, 'hit');
    assert.equal((await gw.logFor('c-miss')).cache, 'miss');
    const head = okBody(await send(`${gw.url}/a/fresh`, { method: 'HEAD' }));
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal(served, before);
  });
});

describe('revalidation', () => {
  test('a stale copy with an ETag is confirmed by the origin with a 304 and answers whole', async () => {
    const first = okBody(await get('/r/etag'));
    assert.equal(lastIfNoneMatch, undefined);
    const before = notModified;
    const again = okBody(await get('/r/etag', { 'x-request-id': 'c-reval' }));
    assert.equal(lastIfNoneMatch, '"v1"', 'the gateway sent the stored validator');
    assert.equal(notModified, before + 1);
    assert.equal(again.status, 200);
    assert.equal(again.body, first.body);
    assert.match(header(again.r, 'cache-status'), /^gw-cache; fwd=stale; fwd-status=304; ttl=0$/);
    assert.equal((await gw.logFor('c-reval')).cache, 'revalidated');
    // The client's own conditional request is the client's: its 304 goes through.
    const own = okBody(await get('/r/etag', { 'if-none-match': '"v1"' }));
    assert.equal(own.status, 304);
  });

  test('under load, a try answered by the stored copy goes on at once: its answer is written by what waits for the try', async () => {
    okBody(await get('/t/etag'));
    // Every turn holds its writes, as under load.
    const heldAtTryEnd = await heldAtEachTryEnd(async () => {
      const before = notModified;
      const again = okBody(await get('/t/etag'));
      assert.equal(notModified, before + 1, 'revalidated with a 304');
      assert.equal(again.status, 200);
      // A try proxied as it came waits for the sends (test/write-batch.test.ts) …
      okBody(await get('/t/fresh'));
    });
    // … one answered by the stored copy does not: the stored copy is not held a turn longer.
    assert.equal(heldAtTryEnd.length, 2);
    assert.ok(heldAtTryEnd[0]! > 0, `the 304's try went on in the poll phase, before the sends (held then: ${heldAtTryEnd[0]})`);
    assert.equal(heldAtTryEnd[1], 0, 'the proxied try went on after the sends');
  });
});

describe('a stored copy stands in for a failed origin', () => {
  test('origin resets: the stale copy answers 200, saying so in Cache-Status, Proxy-Status and the log', async () => {
    const stored = okBody(await get('/b/plain'));
    const r = okBody(await failing('reset', () => get('/b/plain', { 'x-request-id': 'c-stale' })));
    assert.equal(r.status, 200);
    assert.equal(r.body, stored.body);
    assert.match(header(r.r, 'cache-status'), /^gw-cache; fwd=stale; ttl=(0|-\d+); detail=stale-if-error$/);
    assert.match(header(r.r, 'proxy-status'), /^gw-cache; error=connection_terminated/);
    const line = await gw.logFor('c-stale');
    assert.equal(line.status, 200);
    assert.equal(line.cache, 'stale');
    assert.equal(line.staleFor, 'connection_terminated');
    assert.equal(line.error, undefined, 'masked, not a failure of the request');
    // Without a cache the same failure is the client's 502.
    const bare = okBody(await failing('reset', () => get('/nocache/plain')));
    assert.equal(bare.status, 502);
  });

  test('origin answers 503: the stale copy answers instead, with the status it replaced; counted as masked', async () => {
    const stored = okBody(await get('/c/plain'));
    const r = okBody(await failing('503', () => get('/c/plain', { 'x-request-id': 'c-503' })));
    assert.equal(r.status, 200);
    assert.equal(r.body, stored.body);
    assert.match(header(r.r, 'cache-status'), /fwd=stale; fwd-status=503;/);
    assert.match(header(r.r, 'proxy-status'), /received-status=503/);
    const line = await gw.logFor('c-503');
    assert.equal(line.upstreamStatus, 503);
    assert.equal(line.staleFor, 'origin_503');
    const metrics = parseMetrics(await (await fetch(`${gw.observe.admin!.url}/metrics`)).text());
    assert.ok(total(metrics, 'gatewise_masked_failures_total', { pool: 'app', kind: 'stale_cache' }) >= 2);
    assert.ok(total(metrics, 'gatewise_cache_results_total', { route: '/', result: 'stale' }) >= 2);
    // A 503 with nothing stored reaches the client as it is.
    assert.equal(okBody(await failing('503', () => get('/c/never-stored'))).status, 503);
  });

  test('never: a response that set a cookie, a private one, one that must be revalidated, one without caching headers, one to a request with a cookie', async () => {
    for (const path of ['/d/cookie', '/d/private', '/d/revalidate', '/d/bare']) {
      okBody(await get(path));
      assert.equal(okBody(await failing('reset', () => get(path))).status, 502, path);
    }
    okBody(await get('/d/personal', { cookie: 'session=abc' }));
    assert.equal(okBody(await failing('reset', () => get('/d/personal', { cookie: 'session=abc' }))).status, 502);
  });

  test('only the variant the request selects (Vary), only what fits max_object, only within stale_if_error', async () => {
    okBody(await get('/e/vary', { 'accept-language': 'en' }));
    const en = okBody(await failing('reset', () => get('/e/vary', { 'accept-language': 'en' })));
    assert.equal(en.status, 200);
    assert.match(en.body, /-en$/);
    assert.equal(okBody(await failing('reset', () => get('/e/vary', { 'accept-language': 'fr' }))).status, 502);

    okBody(await get('/e/big'));
    assert.equal(okBody(await failing('reset', () => get('/e/big'))).status, 502, 'over max_object: not stored');

    okBody(await get('/short/plain'));
    okBody(await get('/short/later'));
    assert.equal(okBody(await failing('reset', () => get('/short/plain'))).status, 200, 'within 300 ms');
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(okBody(await failing('reset', () => get('/short/later'))).status, 502, 'past the window');
  });

  test('a POST to a stored URL forgets it', async () => {
    okBody(await get('/f/plain'));
    okBody(await send(`${gw.url}/f/plain`, { method: 'POST', body: 'x' }));
    assert.equal(okBody(await failing('reset', () => get('/f/plain'))).status, 502);
  });
});
