// gatewise under the closed-loop load with `node --cpu-prof`, and the profile read back:
// self time by function and by where the code lives (gatewise, undici, pino, Node, V8).
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Tools } from './env.ts';
import { startTarget } from './targets.ts';
import { runWrk, type WrkResult } from './wrk.ts';

type CallFrame = { functionName: string; url: string; lineNumber: number; columnNumber: number };
type ProfileNode = { id: number; callFrame: CallFrame; children?: number[] };
type CpuProfile = { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] };

export type ProfileEntry = {
  fn: string;
  where: string;
  area: string;
  selfMs: number;
  share: number;
  /** For native functions (no script): the JavaScript caller that spent most of this time. */
  via: string | null;
};
export type ProfileSummary = {
  wrk: Pick<WrkResult, 'requestsPerSec' | 'errors'>;
  totalMs: number;
  /** Share of samples that were not idle. */
  busyShare: number;
  top: ProfileEntry[];
  areas: { area: string; selfMs: number; share: number }[];
  /** Time with at least one frame of the area on the stack: pino with the writes it makes, … */
  inclusive: { area: string; ms: number; share: number }[];
  file: string;
  /** Only the samples taken during the measured load (start-up and warm-up left out), or all. */
  window: 'measured load' | 'whole process';
};

/** Where a function lives, from its script URL. */
export function areaOf(cf: CallFrame): string {
  const u = cf.url;
  if (cf.functionName === '(idle)') return 'idle';
  if (cf.functionName === '(garbage collector)') return 'V8 garbage collector';
  if (cf.functionName === '(program)' || (u === '' && cf.functionName.startsWith('('))) return 'V8/native (program)';
  if (u.includes('/node_modules/undici/') || u.startsWith('node:internal/deps/undici') || u.startsWith('wasm://')) return 'undici';
  if (u.includes('/node_modules/pino') || u.includes('/node_modules/sonic-boom') || u.includes('/node_modules/thread-stream')) return 'pino (logging)';
  if (u.includes('/node_modules/zod/')) return 'zod';
  if (u.includes('/node_modules/')) return `other npm (${/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u)?.[1] ?? '?'})`;
  if (u.includes('/src/')) return `gatewise ${/\/src\/([^/]+)\//.exec(u)?.[1] ?? 'src'}/`;
  if (u.startsWith('node:')) {
    if (/node:(_http|http|internal\/http|_http_)/.test(u) || u.includes('http_')) return 'node http (server, parser)';
    if (/net|stream|buffer/.test(u)) return 'node net/streams';
    return 'node other';
  }
  if (u === '') return 'native (builtins, GC helpers)';
  return 'other';
}

/** Microseconds on the monotonic clock, the one V8's profiler stamps its samples with. */
export const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

const shortUrl = (u: string) => u.replace(/^file:\/\/.*?\/(src|node_modules|bench)\//, '$1/');

export function summarizeProfile(p: CpuProfile, file: string, wrk: WrkResult, window: [number, number] | null, topN = 20): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfIn = (w: [number, number] | null) => {
    const self = new Map<number, number>();
    let t = p.startTime;
    let n = 0;
    for (let i = 0; i < p.samples.length; i++) {
      t += p.timeDeltas[i] ?? 0;
      if (w && (t < w[0] || t > w[1])) continue;
      n++;
      const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
      self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + dt);
    }
    return { self, n };
  };
  let { self, n } = selfIn(window);
  // If the clocks did not line up, fall back to the whole profile rather than to nothing.
  const windowed = window !== null && n > p.samples.length * 0.2;
  if (!windowed) ({ self, n } = selfIn(null));
  const parent = new Map<number, number>();
  for (const node of p.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
  const label = (cf: CallFrame) => `${cf.functionName || '(anonymous)'}${cf.url ? ` ${shortUrl(cf.url)}:${cf.lineNumber + 1}` : ''}`;
  const fns = new Map<string, ProfileEntry & { callers: Map<string, number> }>();
  const areas = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, ms] of self) {
    const cf = byId.get(id)!.callFrame;
    total += ms;
    const area = areaOf(cf);
    if (area === 'idle') idle += ms;
    areas.set(area, (areas.get(area) ?? 0) + ms);
    const seen = new Set<string>();
    let caller: string | null = null;
    let userCaller: string | null = null;
    for (let up: number | undefined = id; up !== undefined; up = parent.get(up)) {
      const f = byId.get(up)!.callFrame;
      const a = areaOf(f);
      if (caller === null && f.url !== '' && up !== id) caller = label(f);
      if (userCaller === null && f.url !== '' && !f.url.startsWith('node:') && up !== id) userCaller = label(f);
      if (a !== 'V8/native (program)' && a !== 'native (builtins, GC helpers)' && !seen.has(a)) {
        seen.add(a);
        inclusive.set(a, (inclusive.get(a) ?? 0) + ms);
      }
    }
    const where = cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : '';
    const key = `${cf.functionName}|${where}`;
    const e = fns.get(key) ?? { fn: cf.functionName || '(anonymous)', where, area, selfMs: 0, share: 0, via: null, callers: new Map<string, number>() };
    e.selfMs += ms;
    if (!cf.url && caller) {
      const via = userCaller && userCaller !== caller ? `${caller} ← ${userCaller}` : caller;
      e.callers.set(via, (e.callers.get(via) ?? 0) + ms);
    }
    fns.set(key, e);
  }
  const busy = total - idle;
  const top = [...fns.values()]
    .filter((e) => e.area !== 'idle')
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, topN)
    .map(({ callers, ...e }) => {
      const best = [...callers].sort((a, b) => b[1] - a[1])[0];
      return { ...e, share: e.selfMs / busy, via: best ? `${best[0]} (${Math.round((best[1] / e.selfMs) * 100)}%)` : null };
    });
  return {
    wrk: { requestsPerSec: wrk.requestsPerSec, errors: wrk.errors },
    totalMs: total,
    busyShare: total > 0 ? busy / total : 0,
    top,
    areas: [...areas]
      .filter(([a]) => a !== 'idle')
      .map(([area, ms]) => ({ area, selfMs: ms, share: ms / busy }))
      .sort((a, b) => b.selfMs - a.selfMs),
    inclusive: [...inclusive]
      .filter(([a]) => a !== 'idle')
      .map(([area, ms]) => ({ area, ms, share: ms / busy }))
      .sort((a, b) => b.ms - a.ms),
    file,
    window: windowed ? 'measured load' : 'whole process',
  };
}

export async function profileGatewise(o: { tools: Tools; originUrl: string; dir: string; seconds: number }): Promise<ProfileSummary> {
  const profDir = join(o.dir, 'cpu-prof');
  mkdirSync(profDir, { recursive: true });
  const t = await startTarget('gatewise', { tools: o.tools, originUrl: o.originUrl, dir: o.dir, core: 0, nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] });
  let wrk: WrkResult;
  let window: [number, number] | null = null;
  try {
    await runWrk({ wrk: o.tools.wrk, url: `${t.url}/`, connections: 64, seconds: 5, core: 1 });
    const from = monotonicUs();
    wrk = await runWrk({ wrk: o.tools.wrk, url: `${t.url}/`, connections: 64, seconds: o.seconds, core: 1 });
    window = [from, monotonicUs()];
  } finally {
    await t.stop(15_000);
  }
  const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) throw new Error(`gatewise wrote no .cpuprofile in ${profDir} (did it exit cleanly on SIGTERM?)`);
  const file = join(profDir, files[0]!);
  return summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, file, wrk, window);
}
