// Closed-loop load with wrk on the load generator's CPU, and its summary parsed.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runToEnd } from './proc.ts';

export type WrkResult = {
  requestsPerSec: number;
  /** Bytes/s read from the server. */
  transferPerSec: number;
  requests: number;
  /** Non-2xx/3xx responses plus socket errors (connect, read, write, timeout). */
  errors: number;
  latencyMs: { p50: number | null; p99: number | null };
  raw: string;
};

export type WrkOptions = {
  wrk: string;
  url: string;
  connections: number;
  seconds: number;
  core: number | null;
  /** A POST of this many bytes per request instead of a GET. */
  uploadBytes?: number;
  /** Directory for the Lua script of an upload. */
  dir?: string;
};

export async function runWrk(o: WrkOptions): Promise<WrkResult> {
  const args = [o.wrk, '-t1', `-c${o.connections}`, `-d${o.seconds}s`, '--latency', '--timeout', '5s'];
  if (o.uploadBytes !== undefined) {
    const script = join(o.dir ?? '/tmp', 'upload.lua');
    writeFileSync(
      script,
      `wrk.method = "POST"\nwrk.body = string.rep("x", ${o.uploadBytes})\nwrk.headers["Content-Type"] = "application/octet-stream"\n`,
    );
    args.push('-s', script);
  }
  args.push(o.url);
  const r = await runToEnd(args, { core: o.core, timeoutMs: (o.seconds + 30) * 1000 });
  if (r.code !== 0) throw new Error(`wrk failed (${r.code}): ${r.stderr}${r.stdout}`);
  return parseWrk(r.stdout);
}

const UNIT: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };
const BYTES: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

function ms(text: string | undefined): number | null {
  const m = text ? /^([\d.]+)(us|ms|s|m)$/.exec(text) : null;
  return m ? Number(m[1]) * UNIT[m[2]!]! : null;
}

export function parseWrk(out: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!rps) throw new Error(`cannot read wrk output:\n${out}`);
  const transfer = /Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB)/.exec(out);
  const total = /(\d+) requests in/.exec(out);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = (non2xx ? Number(non2xx[1]) : 0) + (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  const pct = (p: string) => ms(new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(out)?.[1]);
  return {
    requestsPerSec: Number(rps[1]),
    transferPerSec: transfer ? Number(transfer[1]) * BYTES[transfer[2]!]! : 0,
    requests: total ? Number(total[1]) : 0,
    errors,
    latencyMs: { p50: pct('50'), p99: pct('99') },
    raw: out,
  };
}
