// gatewise's own view of the fixed-rate run: the durationMs of its access lines (from the
// parsed request head to the response's end), for the requests of the measured window. Set
// beside the generator's figures, it tells the proxy's time from the machine's (the wakeups
// of the generator, the origin and the proxy, each a process on a virtual CPU).
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export type InsideLatency = { lines: number; p50Ms: number; p99Ms: number; p999Ms: number; maxMs: number };

/** Where the access log ends now: the run's lines are the ones after it. */
export function logSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** Percentiles of durationMs for the lines after `from` bytes whose time is within [startMs, endMs]. */
export async function insideLatency(file: string, from: number, startMs: number, endMs: number): Promise<InsideLatency | null> {
  // Lines leave the gateway in batches at most 50 ms apart.
  await sleep(200);
  const size = logSize(file);
  if (size <= from) return null;
  const buf = Buffer.allocUnsafe(size - from);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, buf.length, from);
  } finally {
    closeSync(fd);
  }
  const durations: number[] = [];
  for (const line of buf.toString('utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    const o = JSON.parse(line) as { time?: string; durationMs?: number };
    if (typeof o.durationMs !== 'number' || typeof o.time !== 'string') continue;
    const t = Date.parse(o.time);
    if (t >= startMs && t <= endMs) durations.push(o.durationMs);
  }
  if (durations.length === 0) return null;
  durations.sort((a, b) => a - b);
  const at = (q: number) => durations[Math.min(durations.length - 1, Math.floor(q * durations.length))]!;
  return { lines: durations.length, p50Ms: at(0.5), p99Ms: at(0.99), p999Ms: at(0.999), maxMs: durations.at(-1)! };
}
