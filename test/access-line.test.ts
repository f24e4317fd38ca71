// The access line is encoded straight into bytes (src/observe/access-line.ts): its numbers
// must read as JavaScript prints them rounded to hundredths, its strings as JSON.stringify
// writes them (escapes, non-ASCII, lone surrogates), and a line encoded into a LineWriter's
// batch must be the line accessJson returns.

import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mock, test } from 'node:test';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Route } from '../src/config/schema.ts';
import { ProxyError } from '../src/errors/proxy-error.ts';
import { encodeAccessLine, isoNowInto, lineParts } from '../src/observe/access-line.ts';
import { accessJson, logRequest } from '../src/observe/access-log.ts';
import { LineWriter } from '../src/observe/line-writer.ts';
import type { AttemptRecord, RequestCtx } from '../src/server/request-ctx.ts';

function ctx(over: Partial<RequestCtx>): RequestCtx {
  return {
    req: { method: 'GET', url: '/' } as IncomingMessage,
    res: { statusCode: 200 } as ServerResponse,
    time: new Date(),
    start: performance.now(),
    requestId: 'req-1',
    clientIp: '127.0.0.1',
    host: 'example.test',
    route: { name: 'web' } as Route,
    attempts: [],
    upstreamStatus: 200,
    bytes: 145,
    error: null,
    clientGone: false,
    cache: null,
    ...over,
  };
}

function attempt(over: Partial<AttemptRecord>): AttemptRecord {
  return { endpoint: '127.0.0.1:3000', reused: true, durationMs: 1, status: 200, error: null, connect: null, ttfbMs: 0.5, ...over };
}

function line(c: RequestCtx, msg?: string): string {
  const p = lineParts(c, 200, msg === undefined ? 30 : 40, msg);
  const buf = Buffer.alloc(p.maxBytes + 8, 0xff);
  const end = encodeAccessLine(buf, 4, p);
  assert.ok(end - 4 <= p.maxBytes, `the line stays within its bound (${end - 4} > ${p.maxBytes})`);
  assert.equal(buf[end], 0xff, 'nothing is written past the end it returns');
  return buf.toString('utf8', 4, end);
}

test('the clock is written as toISOString() writes it, across milliseconds, seconds and years', () => {
  const starts = [Date.UTC(2026, 11, 8, 1, 31, 31, 0), Date.UTC(2026, 11, 31, 23, 59, 58, 990), Date.UTC(2024, 1, 29, 0, 0, 0, 7), 0];
  mock.timers.enable({ apis: ['Date'], now: starts[0]! });
  try {
    const buf = Buffer.alloc(64, 0xff);
    for (const start of starts) {
      // Every millisecond over ~2.4 s from each start, the same second many times, then the next.
      for (let t = start; t < start + 2400; t += 7) {
        mock.timers.setTime(t);
        const end = isoNowInto(buf, 3);
        assert.equal(buf.toString('latin1', 3, end), new Date(t).toISOString(), `at ${t}`);
        assert.equal(buf[end], 0xff, 'nothing is written past the end it returns');
      }
    }
  } finally {
    mock.timers.reset();
  }
});

test('numbers read as Math.round(n * 100) / 100 prints them, whatever their size', () => {
  const values = [0, 0.001, 0.004999, 0.005, 0.01, 0.1, 0.125, 0.5, 1, 1.005, 2.675, 9.995, 10, 99.999, 123.45, 1e6 + 0.07, 86_400_000.5, 1e12 + 0.99, NaN, -1.234];
  for (let i = 0; i < 2000; i++) values.push(Math.random() * 10 ** Math.floor(Math.random() * 8));
  for (const n of values) {
    const text = line(ctx({ attempts: [attempt({ durationMs: n, ttfbMs: n / 3 })] }));
    const timings = JSON.parse(text).timings as { totalMs: number | null; ttfbMs: number | null };
    const want = (x: number) => JSON.stringify(Math.round(x * 100) / 100);
    assert.ok(text.includes(`"totalMs":${want(n)}}`), `totalMs of ${n}: ${text}`);
    assert.equal(JSON.stringify(timings.ttfbMs), want(n / 3), `ttfbMs of ${n / 3}`);
  }
});

test('strings are written as JSON.stringify writes them', () => {
  const strings = ['', 'plain', '/a"b\\c?q=\u00e9', 'tab\there', 'nul\u0000', 'del\u007f', '\u2028', 'emoji \u{1F600}', 'lone \ud800 surrogate', 'latin1 \u00ff'];
  for (const s of strings) {
    const text = line(ctx({ host: s, req: { method: 'GET', url: s } as IncomingMessage, route: { name: s } as Route }), s);
    assert.ok(text.includes(`"host":${JSON.stringify(s)},"path":${JSON.stringify(s)}`), `host and path ${JSON.stringify(s)}: ${text}`);
    assert.ok(text.includes(`"route":${JSON.stringify(s)}`));
    assert.ok(text.endsWith(`"msg":${JSON.stringify(s)}}\n`));
    assert.equal(JSON.parse(text).path, s);
  }
});

test('absent values are null, and the rare parts (tries, error, cache) are whole JSON', () => {
  const err = new ProxyError({
    type: 'connection_refused',
    detail: 'econnrefused',
    message: 'the origin "a" refused',
    source: 'upstream',
    origin: 'remote',
    stage: 'connect',
    retry: 'yes',
  });
  const c = ctx({
    req: { method: undefined, url: undefined } as unknown as IncomingMessage,
    route: null,
    upstreamStatus: null,
    error: err,
    attempts: [attempt({ status: null, ttfbMs: null, connect: { dnsMs: null, connectMs: 0.42, tlsMs: 3.1 } }), attempt({ endpoint: '[::1]:3001' })],
    cache: { result: 'stale', because: 'origin_503' },
  });
  const o = JSON.parse(line(c, '502 connection_refused')) as Record<string, unknown>;
  assert.equal(o.method, null);
  assert.equal(o.path, null);
  assert.equal(o.route, null);
  assert.equal(o.upstreamStatus, null);
  assert.equal(o.upstream, '[::1]:3001');
  assert.equal((o.tries as unknown[]).length, 2);
  assert.deepEqual((o.error as Record<string, unknown>).type, 'connection_refused');
  assert.equal(o.cache, 'stale');
  assert.equal(o.staleFor, 'origin_503');
  const first = ctx({ attempts: [attempt({ connect: { dnsMs: 1.234, connectMs: 0.42, tlsMs: null } })], cache: { result: 'hit' } });
  const f = JSON.parse(line(first)) as { timings: Record<string, unknown>; cache: string };
  assert.deepEqual(f.timings, { dnsMs: 1.23, connectMs: 0.42, tlsMs: null, ttfbMs: 0.5, totalMs: 1 });
  assert.equal(f.cache, 'hit');
});

test('lines encoded into a LineWriter batch are the lines accessJson returns, a huge one included', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatewise-access-line-'));
  const file = join(dir, 'access.log');
  const fd = openSync(file, 'w');
  const writer = new LineWriter(fd, (err) => assert.fail(err));
  const out = { kind: 'raw', sink: writer } as const;
  const ctxs: RequestCtx[] = [];
  for (let i = 0; i < 300; i++) {
    // One path of 100 KiB: more than the writer's whole buffer.
    const url = i === 150 ? `/${'x'.repeat(100 * 1024)}` : `/item/${i}?q=${'é'.repeat(i % 7)}`;
    ctxs.push(ctx({ req: { method: 'GET', url } as IncomingMessage, attempts: [attempt({ durationMs: i / 7 })], bytes: i }));
  }
  for (const c of ctxs) logRequest(out, c);
  await new Promise<void>((resolve, reject) => writer.flush((err) => (err ? reject(err) : resolve())));
  closeSync(fd);
  const lines = readFileSync(file, 'utf8').split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.length, ctxs.length);
  const strip = (s: string) => {
    const o = JSON.parse(s) as Record<string, unknown>;
    delete o.time;
    delete o.durationMs;
    return o;
  };
  for (let i = 0; i < ctxs.length; i++) assert.deepEqual(strip(lines[i]!), strip(accessJson(ctxs[i]!, 200, 30, undefined)), `line ${i}`);
});
