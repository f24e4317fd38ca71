// Another proxy (nginx, HAProxy, …) in place of gatewise, so the same scenario can be
// measured against it: its config template is written to a private directory, the command
// started, the run waits until its port accepts connections, and it is stopped by the PID
// this process started, never by name.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { waitForPort } from '../port.ts';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { substitute, type Vars } from './placeholders.ts';
import type { ProxySpec } from './schema.ts';

export type RunningProxy = {
  readonly name: string;
  readonly pid: number;
  readonly url: string;
  readonly port: number;
  /** The private directory: config, pid file, logs. Removed by stop() unless keepDir. */
  readonly dir: string;
  stop(): Promise<void>;
};

export type StartProxyOptions = {
  spec: ProxySpec;
  vars: Vars;
  /** 0 picks a free port. */
  port: number;
  readyTimeoutMs?: number;
  keepDir?: boolean;
};

const STDERR_TAIL = 4096;

export async function startProxy(o: StartProxyOptions): Promise<RunningProxy> {
  const dir = await mkdtemp(join(tmpdir(), `gatewise-lab-${o.spec.name}-`));
  const port = o.port || (await freePort());
  const conf = join(dir, o.spec.configName);
  const vars: Vars = new Map([
    ...o.vars,
    ['proxy.port', String(port)],
    ['proxy.dir', dir],
    ['proxy.conf', conf],
    ['proxy.user', userInfo().username],
  ]);
  const where = `proxy ${o.spec.name}`;
  let argv: string[];
  try {
    if (o.spec.config !== null) await writeFile(conf, substitute(o.spec.config, vars, `${where} config`));
    const braces = (s: string) => s.replaceAll('{conf}', conf).replaceAll('{dir}', dir).replaceAll('{port}', String(port));
    argv = (typeof o.spec.command === 'string' ? splitCommand(o.spec.command) : o.spec.command).map((a) =>
      braces(substitute(a, vars, `${where} command`)),
    );
    if (argv.length === 0) throw new Error(`${where}: empty command`);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  const child = spawn(argv[0]!, argv.slice(1), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-STDERR_TAIL);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ? `killed by ${signal}` : `exited with ${code}`));
    child.once('error', (err) => resolve(`could not start: ${err.message}`));
  });
  const cleanup = async () => {
    await stopChild(child, exited);
    if (!o.keepDir) await rm(dir, { recursive: true, force: true });
  };

  const ready = await Promise.race([
    waitForPort(port, o.readyTimeoutMs ?? 5000).then((ok) => (ok ? null : `port ${port} did not accept connections`)),
    exited,
  ]);
  if (ready !== null) {
    await cleanup();
    throw new Error(`${where} (${argv.join(' ')}): ${ready}${output.trim() ? `\n${output.trim()}` : ''}`);
  }
  return { name: o.spec.name, pid: child.pid!, url: `http://127.0.0.1:${port}`, port, dir, stop: cleanup };
}

/** SIGTERM to the PID we started (nginx and HAProxy stop their workers on it), SIGKILL if it lingers. */
async function stopChild(child: ChildProcess, exited: Promise<string>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  child.kill('SIGTERM');
  const gone = await Promise.race([exited.then(() => true), sleep(3000).then(() => false)]);
  if (!gone) {
    child.kill('SIGKILL');
    await exited;
  }
}

/** A port nothing listens on right now; another process could take it before the proxy does. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Words as a POSIX shell splits them, quotes included, without any expansion. */
export function splitCommand(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && (text[i + 1] === '"' || text[i + 1] === '\\')) word += text[++i];
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated ${quote} in command: ${text}`);
  if (inWord) words.push(word);
  return words;
}
