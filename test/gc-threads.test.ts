// scavengeAlone: with one CPU, V8's scavenges run on the main thread alone (src/cli/gc-threads.ts).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { scavengeAlone } from '../src/cli/gc-threads.ts';

const MODULE = fileURLToPath(new URL('../src/cli/gc-threads.ts', import.meta.url));

/** The time V8's worker threads spent in each scavenge of a child that allocates, as --trace-gc-nvp reports it. */
async function scavenges(cpus: number): Promise<{ main: number; background: number }[]> {
  const script = `
    const { scavengeAlone } = await import(${JSON.stringify(MODULE)});
    scavengeAlone(${cpus}, []);
    // Young objects that survive a scavenge or two (the work a scavenge shares out), and garbage.
    const keep = [];
    for (let i = 0; i < 3e6; i++) {
      const o = { i, s: 'x' + i, a: [i, i + 1] };
      keep.push(o);
      if (keep.length > 20000) keep.length = 0;
    }`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--trace-gc-nvp', '--input-type=module', '-e', script], { maxBuffer: 64 * 1024 * 1024 });
  return stdout
    .split('\n')
    .filter((l) => l.includes('gc=s '))
    .map((l) => ({ main: field(l, 'scavenge.parallel'), background: field(l, 'background.scavenge.parallel') }));
}

function field(line: string, name: string): number {
  const m = new RegExp(`(?:^|\\s)${name.replace(/\./g, '\\.')}=([\\d.]+)`).exec(line);
  assert.ok(m, `no ${name} in: ${line}`);
  return Number(m[1]);
}

test('with one CPU every scavenge runs on the main thread; with more, V8 shares them out as it does by default', async () => {
  const alone = await scavenges(1);
  assert.ok(alone.length >= 5, `expected several scavenges, saw ${alone.length}`);
  assert.deepEqual(
    alone.filter((s) => s.background > 0),
    [],
    'no scavenge work on worker threads',
  );
  assert.ok(alone.some((s) => s.main > 0), 'the main thread did the scavenging');
  // The control: without the flag the same allocation has scavenges shared with worker threads.
  const shared = await scavenges(2);
  assert.ok(
    shared.some((s) => s.background > 0),
    'by default some scavenge work runs on worker threads (otherwise the check above proves nothing)',
  );
});

test('scavengeAlone leaves more than one CPU, and an explicit --parallel-scavenge, alone', () => {
  assert.equal(scavengeAlone(2, []), false);
  assert.equal(scavengeAlone(1, ['--parallel-scavenge']), false);
});
