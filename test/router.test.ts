// Host + path prefix → route (src/routing/router.ts): exact hosts before wildcards before
// host-less routes, the longest prefix on segment boundaries, the Host field's port, case and
// trailing dot ignored, and each request routed by its own Host whatever the one before said.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Route } from '../src/config/schema.ts';
import { Router } from '../src/routing/router.ts';

const route = (host: string | null, pathPrefix: string, name: string) => ({ host, pathPrefix, name, stripPrefix: false }) as unknown as Route & { name: string };

const routes = [
  route('a.example', '/', 'a'),
  route('a.example', '/api', 'a-api'),
  route('*.example', '/', 'wild'),
  route('*.b.example', '/', 'wild-b'),
  route(null, '/', 'any'),
  route(null, '/static', 'any-static'),
];
const router = new Router(routes);
const nameOf = (host: string, url: string) => (router.match(host, url) as (Route & { name: string }) | null)?.name ?? null;

test('exact host, then the longest wildcard suffix, then any host; the longest prefix on a segment boundary', () => {
  assert.equal(nameOf('a.example', '/'), 'a');
  assert.equal(nameOf('a.example', '/api/x'), 'a-api');
  assert.equal(nameOf('a.example', '/api?q=1'), 'a-api');
  assert.equal(nameOf('a.example', '/apix'), 'a');
  assert.equal(nameOf('c.example', '/'), 'wild');
  assert.equal(nameOf('x.b.example', '/'), 'wild-b');
  assert.equal(nameOf('other.test', '/static/app.js'), 'any-static');
  assert.equal(nameOf('other.test', '/staticx'), 'any');
});

test('the Host field’s port, letter case and trailing dot do not change the route; [IPv6] with a port is a host', () => {
  assert.equal(nameOf('A.Example:8080', '/api'), 'a-api');
  assert.equal(nameOf('a.example.', '/api'), 'a-api');
  assert.equal(nameOf('[::1]:8080', '/static'), 'any-static');
});

test('each request is routed by its own Host, whatever the request before it named', () => {
  const seq: [string, string][] = [
    ['a.example', 'a-api'],
    ['c.example', 'wild'],
    ['a.example', 'a-api'],
    ['a.example', 'a-api'],
    ['other.test', 'any'],
    ['A.EXAMPLE:1', 'a-api'],
    ['x.b.example', 'wild-b'],
  ];
  for (const [host, want] of seq) assert.equal(nameOf(host, want === 'any' ? '/api' : '/api/1'), want, host);
});
