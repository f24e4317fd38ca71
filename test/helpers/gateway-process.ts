import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';

const NODE = process.execPath;
const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;

export type GatewayProcess = {
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly url: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resident memory of the process, from /proc. */
  rssBytes(): number;
  /** Sends the signal and waits for the exit code. */
  signal(sig: NodeJS.Signals): Promise<number | null>;
};

/**
 * `gatewise ARGS` as a separate process, as an operator runs it: its memory is its own,
 * and signals reach it for real. Resolves once it logged that it listens. `nodeArgs` go to
 * node before the script (V8 flags NODE_OPTIONS does not take).
 */
export async function spawnGatewise(args: string[], env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): Promise<GatewayProcess> {
  const proc = spawn(NODE, [...nodeArgs, MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gatewise did not start:\n${out}`)), 10_000);
    const check = (): void => {
      const m = /"listen":\["([^"]+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        proc.stderr!.off('data', check);
        resolve(`http://${m[1]}`);
      }
    };
    proc.stderr!.on('data', check);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gatewise exited with ${code}:\n${out}`));
    });
  });
  return {
    proc,
    pid: proc.pid!,
    url,
    output: () => out,
    rssBytes: () => {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
      return Number(m![1]) * 1024;
    },
    signal: async (sig) => {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill(sig);
      const [code] = (await once(proc, 'exit')) as [number | null];
      return code;
    },
  };
}
