// The access log's writer: lines reach the file whole, in order, encoded once (UTF-8 included),
// within 50 ms when few, in 32 KiB batches when many (a file takes each at once, a pipe
// asynchronously, never blocking on its reader), and what is left is written at exit.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { LineWriter } from '../src/observe/line-writer.ts';

const dir = mkdtempSync(join(tmpdir(), 'gatewise-lines-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function writerTo(name: string): { w: LineWriter; read: () => string; errors: Error[] } {
  const file = join(dir, name);
  const errors: Error[] = [];
  const w = new LineWriter(openSync(file, 'a'), (e) => errors.push(e));
  return { w, read: () => readFileSync(file, 'utf8'), errors };
}

test('a few lines reach the file within the flush delay, not at once', async () => {
  const { w, read } = writerTo('few.log');
  w.write('{"a":1}\n');
  w.write('{"path":"/caf\u00e9/\u{1F600}"}\n');
  assert.equal(read(), '', 'batched, not written line by line');
  await new Promise((r) => setTimeout(r, 120));
  assert.equal(read(), '{"a":1}\n{"path":"/caf\u00e9/\u{1F600}"}\n');
});

test('many lines go in order and whole, including one larger than the buffer', async () => {
  const { w, read, errors } = writerTo('many.log');
  const lines: string[] = [];
  for (let i = 0; i < 5000; i++) lines.push(`{"i":${i},"pad":"${'\u00e9'.repeat(i % 50)}"}\n`);
  const huge = `{"huge":"${'x'.repeat(100_000)}"}\n`;
  lines.splice(2500, 0, huge);
  for (const l of lines) w.write(l);
  await new Promise<void>((r) => w.flush(() => r()));
  assert.equal(read(), lines.join(''));
  assert.deepEqual(errors, []);
});

test('lines still buffered when the process exits are written by flushSync', () => {
  const file = join(dir, 'exit.log');
  const script = `
    import { openSync } from 'node:fs';
    import { LineWriter } from ${JSON.stringify(new URL('../src/observe/line-writer.ts', import.meta.url).href)};
    const w = new LineWriter(openSync(${JSON.stringify(file)}, 'a'), () => {});
    process.on('exit', () => w.flushSync());
    for (let i = 0; i < 3; i++) w.write('line ' + i + '\\n');
    process.exit(0);
  `;
  execFileSync(process.execPath, ['--input-type=module', '-e', script]);
  assert.equal(readFileSync(file, 'utf8'), 'line 0\nline 1\nline 2\n');
});

test('a file takes each batch at once; a pipe is written asynchronously, in order, without blocking the loop', async () => {
  const { w, read } = writerTo('sync.log');
  const batch = `${'y'.repeat(40 * 1024)}\n`;
  w.write(batch);
  assert.equal(read(), batch, 'a full batch is in the file when write returns');

  // A pipe whose reader is slow: 1 MiB of lines, far more than the pipe holds (64 KiB).
  // It marks on disk the moment it starts reading: writes that blocked would find the mark.
  const mark = join(dir, 'reading');
  const readerCode = `setTimeout(() => { require('fs').writeFileSync(${JSON.stringify(mark)}, ''); process.stdin.pipe(process.stdout); }, 300)`;
  const reader = spawn(process.execPath, ['-e', readerCode], { stdio: ['pipe', 'pipe', 'inherit'] });
  const fd = (reader.stdin as unknown as { _handle: { fd: number } })._handle.fd;
  const errors: Error[] = [];
  const pw = new LineWriter(fd, (e) => errors.push(e));
  const lines: string[] = [];
  for (let i = 0; i < 8000; i++) lines.push(`{"n":${i},"pad":"${'p'.repeat(120)}"}\n`);
  let got = '';
  reader.stdout.on('data', (d: Buffer) => {
    got += d.toString();
  });
  for (const l of lines) pw.write(l);
  assert.equal(existsSync(mark), false, 'writing into a full pipe did not wait for its reader');
  await new Promise<void>((r) => pw.flush(() => r()));
  reader.stdin.end();
  await once(reader, 'close');
  assert.deepEqual(errors, []);
  assert.equal(got, lines.join(''));
});
