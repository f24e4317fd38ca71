// Where a Node process allocates, every object counted (the collected ones too): preload it,
//   node --import ./bench/heap-sample.ts bin/gatewise.js serve …
// then `kill -USR2 PID` starts V8's sampling heap profiler and the next `kill -USR2 PID`
// stops it, writes the profile to $HEAP_SAMPLE_OUT (default heap-sample.json, for Chrome
// DevTools) and prints to stderr the bytes allocated in between and the functions that
// allocated most. Divide by the requests sent in between for bytes per request.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

type Node = { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children?: Node[] };

const session = new Session();
session.connect();
const post = <T>(method: string, params: object = {}) =>
  new Promise<T>((resolve, reject) => session.post(method, params, (err, r) => (err ? reject(err) : resolve(r as T))));

let sampling = false;
process.on('SIGUSR2', () => {
  void toggle().catch((err: unknown) => process.stderr.write(`heap-sample: ${String(err)}\n`));
});

async function toggle(): Promise<void> {
  if (!sampling) {
    sampling = true;
    await post('HeapProfiler.startSampling', { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    return;
  }
  sampling = false;
  const { profile } = await post<{ profile: { head: Node } }>('HeapProfiler.stopSampling');
  writeFileSync(process.env['HEAP_SAMPLE_OUT'] ?? 'heap-sample.json', JSON.stringify(profile));
  const by = new Map<string, number>();
  let total = 0;
  const walk = (n: Node) => {
    if (n.selfSize > 0) {
      const f = n.callFrame;
      const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^(?:file:\/\/)?.*?\/(src|node_modules|bench)\//, '$1/')}:${f.lineNumber + 1}`;
      by.set(key, (by.get(key) ?? 0) + n.selfSize);
      total += n.selfSize;
    }
    for (const c of n.children ?? []) walk(c);
  };
  walk(profile.head);
  const top = [...by].sort((a, b) => b[1] - a[1]).slice(0, 20);
  process.stderr.write(`heap-sample: ${total} bytes allocated\n${top.map(([k, v]) => `${String(v).padStart(12)}  ${k}`).join('\n')}\n`);
}
