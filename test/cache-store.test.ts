// The cache's memory: least recently used out first, within its byte budget; variants by Vary.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import CachePolicy from 'http-cache-semantics';
import { type CacheEntry, ResponseCache, varyValues } from '../src/cache/store.ts';

function entry(bodyBytes: number, vary: Map<string, string> | null = new Map()): CacheEntry {
  const policy = new CachePolicy({ method: 'GET', url: '/', headers: {} }, { status: 200, headers: { 'cache-control': 'max-age=60' } });
  return { policy, status: 200, body: Buffer.alloc(bodyBytes), vary };
}

test('beyond its budget the least recently used URL goes first; a lookup makes one recent', () => {
  // Each entry counts its body and 1 KiB: three of 600 bytes fit in 5 KiB, a fourth does not.
  const c = new ResponseCache(5 * 1024);
  c.store('a', entry(600));
  c.store('b', entry(600));
  c.store('c', entry(600));
  assert.ok(c.find('a', {}), 'a is used: b is now the oldest');
  c.store('d', entry(600));
  assert.equal(c.find('b', {}), null);
  for (const k of ['a', 'c', 'd']) assert.ok(c.find(k, {}), k);
  assert.equal(c.size, 3 * (600 + 1024));
  c.invalidate('a');
  assert.equal(c.find('a', {}), null);
  assert.equal(c.size, 2 * (600 + 1024));
});

test('one entry per variant; Vary: * is never matched; a larger-than-budget entry is not stored', () => {
  const c = new ResponseCache(10 * 1024);
  const en = varyValues('Accept-Language', { 'accept-language': 'en' })!;
  const fr = varyValues('accept-language', { 'accept-language': 'fr' })!;
  c.store('u', entry(10, en));
  c.store('u', entry(20, fr));
  c.store('u', entry(30, en));
  assert.equal(c.find('u', { 'accept-language': 'en' })?.body.length, 30, 'the newer en replaced the older');
  assert.equal(c.find('u', { 'accept-language': 'fr' })?.body.length, 20);
  assert.equal(c.find('u', { 'accept-language': 'de' }), null);
  assert.equal(varyValues('*', {}), null);
  c.store('star', entry(10, null));
  assert.equal(c.find('star', {}), null);
  c.store('huge', entry(20 * 1024));
  assert.equal(c.find('huge', {}), null);
});
