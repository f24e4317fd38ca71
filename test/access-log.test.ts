// The access line written on the request path (built by hand for speed) must be the line
// pino writes for the same request: compared field by field, for a plain success and for a
// failure after a retry (tries, error with its hop, a path and host that need escaping).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Writable } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import pino from 'pino';
import { ProxyError } from '../src/errors/proxy-error.ts';
import { accessFields, accessJson, LineBatcher, logRequest } from '../src/observe/access-log.ts';
import type { RequestCtx } from '../src/server/request-ctx.ts';
import type { Route } from '../src/config/schema.ts';

function ctx(over: Partial<RequestCtx>, status: number): RequestCtx {
  return {
    req: { method: 'GET', url: '/a"b\\c?q=\u00e9' } as IncomingMessage,
    res: { statusCode: status } as ServerResponse,
    time: new Date(),
    start: performance.now() - 12.3456,
    requestId: 'req-1',
    clientIp: '::1',
    host: 'shop.example:8080',
    route: { name: 'shop "main"' } as Route,
    attempts: [],
    upstreamStatus: null,
    bytes: 0,
    error: null,
    clientGone: false,
    cache: null,
    ...over,
  };
}

function viaPino(c: RequestCtx, status: number, msg: string | undefined): Record<string, unknown> {
  let out = '';
  const dest = new Writable({
    write(chunk, _e, cb) {
      out += chunk.toString();
      cb();
    },
  });
  const log = pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime, messageKey: 'msg' }, dest);
  const fields = accessFields(c, status);
  if (msg === undefined) log.info(fields);
  else log.warn(fields, msg);
  return JSON.parse(out) as Record<string, unknown>;
}

function same(c: RequestCtx, status: number, level: 30 | 40, msg: string | undefined): void {
  const ours = JSON.parse(accessJson(c, status, level, msg)) as Record<string, unknown>;
  const theirs = viaPino(c, status, msg);
  // Taken a moment apart: the clock fields are checked for shape, the rest must be equal.
  for (const o of [ours, theirs]) {
    assert.match(String(o.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Number(o.durationMs) >= 12.34, `durationMs ${o.durationMs} counts from the request's start`);
    delete o.time;
    delete o.durationMs;
  }
  assert.deepEqual(Object.keys(ours), Object.keys(theirs));
  assert.deepEqual(ours, theirs);
}

test('a success: the same line as pino writes', () => {
  const c = ctx(
    {
      attempts: [{ endpoint: '127.0.0.1:3000', reused: true, durationMs: 3.21, status: 200, error: null, connect: null, ttfbMs: 2.5 }],
      upstreamStatus: 200,
      bytes: 150,
    },
    200,
  );
  same(c, 200, 30, undefined);
});

test('a failure after a retry: tries, the error and its hop, the same as pino', () => {
  const error = new ProxyError({
    type: 'connection_refused',
    detail: 'ECONNREFUSED',
    message: 'the origin "b" refused',
    source: 'upstream',
    origin: 'remote',
    stage: 'connect',
    retry: 'yes',
    hop: { pool: 'app', endpoint: '127.0.0.1:3001', attempt: 2, reused: false },
  });
  const c = ctx(
    {
      attempts: [
        { endpoint: '127.0.0.1:3000', reused: true, durationMs: 1.5, status: null, error: { type: 'connection_terminated', detail: 'other side closed' }, connect: null, ttfbMs: null },
        { endpoint: '127.0.0.1:3001', reused: false, durationMs: 0.7, status: null, error: { type: 'connection_refused', detail: 'ECONNREFUSED' }, connect: { dnsMs: 0.1234, connectMs: 0.5678, tlsMs: null }, ttfbMs: null },
      ],
      error,
    },
    502,
  );
  same(c, 502, 40, '502 connection_refused');
});

test('lines are batched into one write, and flush sends what is left', async () => {
  const writes: string[] = [];
  const b = new LineBatcher({ write: (s: string) => writes.push(s) });
  const out = { kind: 'raw', sink: b } as const;
  const c = ctx({}, 200);
  logRequest(out, c);
  logRequest(out, c);
  assert.equal(writes.length, 0, 'nothing written before the batch is due');
  await new Promise((r) => setTimeout(r, LineBatcher.MAX_DELAY_MS + 30));
  assert.equal(writes.length, 1);
  assert.equal(writes[0]!.split('\n').filter(Boolean).length, 2);
  logRequest(out, c);
  b.flush();
  assert.equal(writes.length, 2);
  // A full batch goes at once.
  const big = 'x'.repeat(LineBatcher.MAX_BYTES);
  b.write(big);
  assert.equal(writes.length, 3);
});

test('a process that dies of an uncaught error still writes the access lines it batched', async () => {
  const { mkdtempSync, readFileSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { spawnSync } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'gatewise-crash-'));
  try {
    const file = join(dir, 'access.log');
    const src = new URL('../src/', import.meta.url).href;
    // A gateway's loggers writing to a file, 200 lines in the batch, then an error nobody catches.
    const script = join(dir, 'crash.ts');
    writeFileSync(
      script,
      `import { parseConfigText } from '${src}config/load.ts';
import { createLoggers } from '${src}observe/logger.ts';
const { config } = parseConfigText('upstreams: { app: { endpoints: [http://127.0.0.1:3000] } }\\nroutes: [{ upstream: app }]\\nlog: { access: ${JSON.stringify(file)} }\\n', 'gw.yaml');
const { accessOutput } = createLoggers(config.log);
if (accessOutput.kind !== 'raw') throw new Error('expected raw access lines, got ' + accessOutput.kind);
setTimeout(() => {
  for (let i = 0; i < 200; i++) accessOutput.sink.write(JSON.stringify({ i }) + '\\n');
  throw new Error('boom');
}, 100);
`,
    );
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 10_000 });
    assert.notEqual(r.status, 0, 'the process died');
    assert.match(r.stderr, /boom/);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    assert.equal(lines.length, 200);
    assert.deepEqual(JSON.parse(lines[199]!), { i: 199 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
