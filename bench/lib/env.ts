// What the bench needs on the machine, and where each figure came from: the versions of every
// program measured and the machine line, printed at the top of every report.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { runToEnd, taskset } from './proc.ts';

export type Tools = { nginx: string; haproxy: string; wrk: string };

const APT = 'apt-get install -y nginx-light haproxy wrk';

/** The path of a program: the usual Debian location, or the first one on PATH. */
function which(name: string, usual: string): string | null {
  if (existsSync(usual)) return usual;
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

function find(): Partial<Tools> {
  const nginx = which('nginx', '/usr/sbin/nginx');
  const haproxy = which('haproxy', '/usr/sbin/haproxy');
  const wrk = which('wrk', '/usr/bin/wrk');
  return { ...(nginx ? { nginx } : {}), ...(haproxy ? { haproxy } : {}), ...(wrk ? { wrk } : {}) };
}

/**
 * nginx, HAProxy and wrk, installed with apt-get when missing and we run as root (unless
 * BENCH_NO_INSTALL=1); otherwise the bench stops and says how to install them.
 */
export function requireTools(log: (l: string) => void): Tools {
  let t = find();
  const missing = () => (['nginx', 'haproxy', 'wrk'] as const).filter((k) => !t[k]);
  if (missing().length > 0 && process.getuid?.() === 0 && process.env['BENCH_NO_INSTALL'] !== '1' && which('apt-get', '/usr/bin/apt-get')) {
    log(`missing: ${missing().join(', ')}; running as root, so trying: ${APT}`);
    let r = spawnSync('apt-get', ['install', '-y', 'nginx-light', 'haproxy', 'wrk'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0) {
      spawnSync('apt-get', ['update'], { stdio: 'inherit' });
      r = spawnSync('apt-get', ['install', '-y', 'nginx-light', 'haproxy', 'wrk'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    }
    t = find();
  }
  const m = missing();
  if (m.length > 0) {
    throw new Error(
      `the bench needs nginx, HAProxy and wrk; missing: ${m.join(', ')}.\n` +
        `Install them (Debian/Ubuntu): sudo ${APT}\n` +
        '(nginx and HAProxy are only started by the bench, on 127.0.0.1, with their own temporary directories.)',
    );
  }
  return t as Tools;
}

export type Provenance = {
  date: string;
  machine: string;
  nproc: number;
  kernel: string;
  node: string;
  nginx: string;
  haproxy: string;
  wrk: string;
  undici: string;
  fastify: string;
  fastifyHttpProxy: string;
  httpProxy: string;
  gatewise: string;
  gitCommit: string;
  pinning: string;
  loadavg: string;
  /** The longest pauses a busy loop saw on each CPU: the machine's own noise floor. */
  stalls: { core: number; maxMs: number; over1ms: number }[];
};

const STALL_LOOP = `const end=performance.now()+STALL_MS;let last=performance.now(),max=0,over=0;for(;;){const n=performance.now();const g=n-last;if(g>max)max=g;if(g>1)over++;last=n;if(n>end)break}console.log(JSON.stringify({maxMs:max,over1ms:over}))`;

/**
 * A busy loop on each CPU for `ms`: every gap between two iterations is time the process was
 * not running (another tenant, the hypervisor). No latency measured here can be lower.
 */
export async function measureStalls(cores: number[], ms: number): Promise<Provenance['stalls']> {
  const out: Provenance['stalls'] = [];
  for (const core of cores) {
    const r = await runToEnd([process.execPath, '-e', STALL_LOOP.replace('STALL_MS', String(ms))], { core, timeoutMs: ms + 10_000 });
    const j = JSON.parse(r.stdout) as { maxMs: number; over1ms: number };
    out.push({ core, ...j });
  }
  return out;
}

function firstLine(s: string): string {
  return s.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
}

function out(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`;
}

function pkgVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join('node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

export async function provenance(t: Tools): Promise<Provenance> {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown CPU';
  const mhz = /^cpu MHz\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim();
  let nproc = availableParallelism();
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim()) || nproc;
  } catch {
    // keep availableParallelism()
  }
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (dirty) commit += ' (src/ has uncommitted changes)';
  } catch {
    // not a git checkout
  }
  return {
    date: new Date().toISOString(),
    machine: `${model}${mhz ? ` @ ${Math.round(Number(mhz))} MHz` : ''}, nproc ${nproc}`,
    nproc,
    kernel: firstLine(out('uname', ['-srm'])),
    node: process.version,
    nginx: firstLine(out(t.nginx, ['-v'])).replace(/^nginx version:\s*/, ''),
    haproxy: firstLine(out(t.haproxy, ['-v'])).replace(/ - https?:\/\/\S+$/, ''),
    wrk: firstLine(out(t.wrk, ['--version'])).replace(/ Copyright.*$/, ''),
    undici: pkgVersion('undici'),
    fastify: pkgVersion('fastify'),
    fastifyHttpProxy: pkgVersion('@fastify/http-proxy'),
    httpProxy: pkgVersion('http-proxy'),
    gatewise: (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version,
    gitCommit: commit,
    pinning: taskset() ? 'proxy on CPU 0 (taskset -c 0); origin and load generator on CPU 1 (taskset -c 1)' : 'taskset not found: nothing pinned',
    loadavg: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
    stalls: await measureStalls([0, 1], 3000),
  };
}
