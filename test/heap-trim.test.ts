// After start-up `gatewise serve` gives back the heap that loading and configuring grew
// (src/cli/heap-trim.ts): V8's young generation shrinks to its smallest.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { spawnGatewise } from './helpers/gateway-process.ts';

const MIB = 1024 * 1024;

test('trimHeap shrinks a grown young generation, in a process started without --expose-gc', () => {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    // Objects that survive a few scavenges each make V8 grow the young generation.
    let keep = [];
    for (let i = 0; i < 2e6; i++) {
      keep.push({ i, s: 'x' + i });
      if (keep.length > 100000) keep = [];
    }
    const grown = newSpace();
    const { trimHeap } = await import(${JSON.stringify(new URL('../src/cli/heap-trim.ts', import.meta.url).href)});
    trimHeap();
    process.stdout.write(JSON.stringify({ grown, trimmed: newSpace(), gcInProgram: typeof globalThis.gc }));
  `;
  const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
  assert.ok(out.grown >= 8 * MIB, `the young generation did not grow (${out.grown} bytes): the test proves nothing`);
  assert.ok(out.trimmed <= 2 * MIB, `still ${out.trimmed} bytes after the trim`);
  // The program's own global gets no gc function.
  assert.equal(out.gcInProgram, 'undefined');
});

test('gatewise serve starts with its young generation at its smallest', async () => {
  const preload = new URL('./helpers/report-on-signal.ts', import.meta.url).pathname;
  const gw = await spawnGatewise(['serve', '--listen', '127.0.0.1:0', '--upstream', 'http://127.0.0.1:9'], { NODE_OPTIONS: `--import=${preload}` });
  try {
    // The trim runs right after the start is logged: asked until the answer is the trimmed
    // size, for at most 50 questions; an answer not given within 2 s, or an exit, fails.
    let size = Number.NaN;
    for (let i = 0; i < 50; i++) {
      const seen = gw.output().length;
      gw.proc.kill('SIGUSR2');
      for (let waited = 0; !gw.output().slice(seen).includes('NEW_SPACE'); waited += 20) {
        assert.ok(waited < 2000 && gw.proc.exitCode === null, `no answer to SIGUSR2:\n${gw.output()}`);
        await sleep(20);
      }
      size = Number(/NEW_SPACE (\d+)/.exec(gw.output().slice(seen))![1]);
      if (size <= 2 * MIB) break;
      await sleep(100);
    }
    assert.ok(size <= 2 * MIB, `young generation ${size} bytes after start (untrimmed, start-up leaves it at 16 MiB)`);
  } finally {
    await gw.signal('SIGTERM');
  }
});
