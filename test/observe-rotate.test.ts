// The access log to a file with rotation by size or by day, keeping `keep` old files, while
// stdout stays the default for containers.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseConfigText } from '../src/config/load.ts';
import { createLoggers } from '../src/observe/logger.ts';
import { RotatingFile } from '../src/observe/rotating-file.ts';

const tmp = mkdtempSync(join(tmpdir(), 'gatewise-rotate-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const MINIMAL = 'upstreams: { app: { endpoints: [http://127.0.0.1:3000] } }\nroutes: [{ upstream: app }]\n';
const flush = (d: { flush(cb: (err?: Error) => void): void }) => new Promise<void>((r) => d.flush(() => r()));

test('by size: every line lands in exactly one file, whole, and only `keep` old files remain', async () => {
  const dir = join(tmp, 'size');
  const file = join(dir, 'access.log');
  mkdirSync(dir);
  const { config } = parseConfigText(`${MINIMAL}log: { access: ${file}, rotate: { size: 4kb, keep: 3 } }\n`, join(tmp, 'gw.yaml'));
  assert.deepEqual(config.log.rotate, { sizeBytes: 4096, daily: false, keep: 3 });
  const loggers = createLoggers(config.log);
  for (let i = 0; i < 400; i++) {
    loggers.access.info({ i, path: `/items/${i}`, pad: 'x'.repeat(40) });
    // Let the asynchronous writer run, as it would between requests.
    if (i % 20 === 19) await loggers.flush();
  }
  await loggers.flush();
  await new Promise((r) => setTimeout(r, 100));
  const files = readdirSync(dir).sort();
  assert.ok(files.includes('access.log'));
  const rotated = files.filter((f) => f !== 'access.log');
  assert.equal(rotated.length, 3, files.join(' '));
  for (const f of rotated) assert.match(f, /^access\.log\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z(\.\d+)?$/);
  const seen: number[] = [];
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8');
    assert.ok(text.endsWith('\n'), `${f} ends with a whole line`);
    for (const line of text.trimEnd().split('\n')) seen.push((JSON.parse(line) as { i: number }).i);
    // Lines still buffered when the limit is reached go to the next file: sizes are about the limit.
    if (f !== 'access.log') assert.ok(text.length <= 2 * 4096, `${f} is about the size limit: ${text.length}`);
  }
  // The kept files are the newest ones: the lines still on disk are the last ones written, in order.
  assert.deepEqual(seen.toSorted((a, b) => a - b), seen.toSorted((a, b) => a - b).map((_, k) => 400 - seen.length + k));
});

test('daily: at midnight UTC the file is renamed for the day it covers', async () => {
  const dir = join(tmp, 'daily');
  const file = join(dir, 'access.log');
  let now = Date.parse('2026-11-24T23:59:58Z');
  const f = new RotatingFile({ file, sizeBytes: null, daily: true, keep: 7, now: () => now });
  f.write('{"a":1}\n');
  await flush(f);
  now = Date.parse('2026-11-25T00:00:01Z');
  f.write('{"a":2}\n');
  await flush(f);
  now = Date.parse('2026-11-26T08:00:00Z');
  f.write('{"a":3}\n');
  await flush(f);
  f.end();
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(readdirSync(dir).sort(), ['access.log', 'access.log.2026-11-24', 'access.log.2026-11-25']);
  assert.equal(readFileSync(join(dir, 'access.log.2026-11-24'), 'utf8'), '{"a":1}\n');
  assert.equal(readFileSync(join(dir, 'access.log.2026-11-25'), 'utf8'), '{"a":2}\n');
  assert.equal(readFileSync(file, 'utf8'), '{"a":3}\n');
});

test('daily: a file left by a run on an earlier day is set aside at start', async () => {
  const dir = join(tmp, 'restart');
  const file = join(dir, 'access.log');
  new RotatingFile({ file, sizeBytes: null, daily: true, keep: 7 }).end();
  await new Promise((r) => setTimeout(r, 50));
  writeFileSync(file, '{"old":true}\n');
  const yesterday = new Date(Date.now() - 86_400_000);
  utimesSync(file, yesterday, yesterday);
  const f = new RotatingFile({ file, sizeBytes: null, daily: true, keep: 7 });
  f.write('{"new":true}\n');
  await flush(f);
  f.end();
  assert.deepEqual(readdirSync(dir).sort(), ['access.log', `access.log.${yesterday.toISOString().slice(0, 10)}`]);
});

test('rotate is checked against the access destination', () => {
  const issue = (log: string) => {
    try {
      parseConfigText(`${MINIMAL}log: ${log}\n`, join(tmp, 'gw.yaml'));
      return null;
    } catch (err) {
      return (err as Error).message;
    }
  };
  assert.match(issue('{ rotate: { daily: true } }')!, /log\.rotate: rotate needs a file access log, not stdout/);
  assert.match(issue('{ access: a.log, rotate: { size: null } }')!, /never rotates/);
  assert.equal(issue('{ access: a.log, rotate: {} }'), null);
  const { config } = parseConfigText(`${MINIMAL}log: { access: a.log, rotate: {} }\n`, join(tmp, 'gw.yaml'));
  assert.deepEqual(config.log.rotate, { sizeBytes: 100 * 1024 * 1024, daily: false, keep: 7 });
  assert.equal(parseConfigText(MINIMAL, join(tmp, 'gw.yaml')).config.log.access, 'stdout');
});
