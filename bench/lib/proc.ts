// Processes the bench starts: pinned to a core with taskset (which execs, so the PID we hold
// is the program's own), stopped by that PID only, and measured from /proc/PID/status.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { waitForPort as waitForPortOpen } from '../../src/lab/port.ts';
import { setTimeout as sleep } from 'node:timers/promises';

export type Proc = {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** The last few KiB of what it printed (when not redirected to a file). */
  output(): string;
  /** Resolves with "exited with N" or "killed by SIG". */
  readonly exited: Promise<string>;
  stop(graceMs?: number): Promise<void>;
};

export type StartOptions = {
  /** A CPU for taskset -c, or null to run unpinned. */
  core: number | null;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Redirect stdout (and stderr, when no stderrFile) to this file instead of a pipe. */
  stdoutFile?: string;
  stderrFile?: string;
};

let tasksetPath: string | null | undefined;

/** taskset from util-linux, or null when absent (the bench then runs unpinned, and says so). */
export function taskset(): string | null {
  if (tasksetPath === undefined) tasksetPath = ['/usr/bin/taskset', '/bin/taskset'].find((p) => existsSync(p)) ?? null;
  return tasksetPath;
}

export function pinned(core: number | null, argv: string[]): string[] {
  const t = taskset();
  return core === null || t === null ? argv : [t, '-c', String(core), ...argv];
}

export function startProcess(name: string, argv: string[], o: StartOptions): Proc {
  const full = pinned(o.core, argv);
  const out = o.stdoutFile ? openSync(o.stdoutFile, 'a') : 'pipe';
  const err = o.stderrFile ? openSync(o.stderrFile, 'a') : out;
  const child = spawn(full[0]!, full.slice(1), { cwd: o.cwd, env: o.env ?? process.env, stdio: ['ignore', out, err] });
  if (typeof out === 'number') closeSync(out);
  if (typeof err === 'number' && err !== out) closeSync(err);
  let tail = '';
  const keep = (b: Buffer) => {
    tail = (tail + b.toString()).slice(-4096);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ? `killed by ${signal}` : `exited with ${code}`));
    child.once('error', (e) => resolve(`could not start: ${e.message}`));
  });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${full.join(' ')}`);
  const stop = async (graceMs = 5000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const gone = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!gone) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  return { name, pid: child.pid, child, output: () => tail, exited, stop };
}

/** Runs a command to its end (bounded by timeoutMs) and returns what it printed. */
export async function runToEnd(argv: string[], o: { core: number | null; timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const full = pinned(o.core, argv);
  const child = spawn(full[0]!, full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: o.env ?? process.env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => {
    stdout += b.toString();
  });
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs);
  const code = await new Promise<number | null>((resolve) => {
    child.once('close', (c) => resolve(c));
    child.once('error', (e) => {
      stderr += e.message;
      resolve(null);
    });
  });
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** VmRSS in bytes of a process and every descendant (nginx: master + worker), or null when gone. */
export function rssTree(pid: number): number | null {
  const own = rssOf(pid);
  if (own === null) return null;
  let total = own;
  for (const c of childrenOf(pid)) total += rssTree(c) ?? 0;
  return total;
}

function rssOf(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // gone, or no children file
  }
  return out;
}

/** CPU time (user + system) in seconds of a process and its descendants, from /proc/PID/stat. */
export function cpuSecondsTree(pid: number): number {
  let total = 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    total += (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
  for (const c of childrenOf(pid)) total += cpuSecondsTree(c);
  return total;
}

export async function waitForPort(port: number, timeoutMs: number, exited?: Promise<string>): Promise<void> {
  let gone: string | null = null;
  void exited?.then((why) => {
    gone = why;
  });
  if (await waitForPortOpen(port, timeoutMs, () => gone !== null)) return;
  if (gone !== null) throw new Error(`it ${gone} before listening on port ${port}`);
  throw new Error(`port ${port} did not accept connections within ${timeoutMs} ms`);
}
