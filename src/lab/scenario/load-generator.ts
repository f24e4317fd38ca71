// Open-loop load: requests leave at a fixed rate whatever the answers do, as real users keep
// arriving while a backend is down. A closed loop (send, wait, send) would slow down exactly
// when the gateway does and hide the failure it is meant to show. What stays bounded: the
// number of requests (rate × duration), the time of each (a timeout), and the requests in
// flight: one per connection at most. Beyond that a send is skipped and counted, never
// queued in the client, where its wait would be blamed on the gateway.
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { parseProxyStatus } from '../../errors/proxy-status.ts';
import type { MixEntry } from './schema.ts';

/** One member of the response's Proxy-Status, in the header's order (origin outwards). */
export type ChainMember = { name: string; error: string | null; details: string | null; receivedStatus: number | null };

export type RequestRecord = {
  seq: number;
  method: string;
  /** When it was sent, in ms since the load started. */
  sentMs: number;
  /** Whole second of sentMs: the report's row. */
  second: number;
  /** The response's status; null when none arrived. */
  status: number | null;
  /** Set when the user got no complete response: ECONNREFUSED, ECONNRESET, UND_ERR_SOCKET, timeout, … */
  code: string | null;
  latencyMs: number;
  chain: ChainMember[];
  /** The Retry-After the answer carried, if any. */
  retryAfter: string | null;
};

export type LoadOptions = {
  url: string;
  rate: number;
  /** Requests that leave at the same instant. */
  burst: number;
  durationMs: number;
  /** Keep-alive connections at most, each carrying one request at a time. */
  connections: number;
  timeoutMs: number;
  mix: MixEntry[];
  /** performance.now() at which the load (and the timeline) starts. */
  startAt: number;
  /** Ends the sending early (Ctrl-C); requests in flight still get their answer or timeout. */
  signal?: AbortSignal | undefined;
};

export type LoadResult = {
  records: RequestRecord[];
  /** Sends skipped because every connection had a request in flight, by second. */
  skipped: number[];
};

/** How often the sender wakes up at most; sends that fell due meanwhile go out together. */
const TICK_MS = 5;

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const pool = new Pool(o.url, { connections: o.connections, pipelining: 1 });
  const total = Math.floor((o.rate * o.durationMs) / 1000);
  const burst = Math.max(1, o.burst);
  const interval = (burst * 1000) / o.rate;
  const due = (seq: number) => Math.floor(seq / burst) * interval;
  const slots = mixSlots(o.mix);
  const bodies = new Map(o.mix.map((m) => [m, m.bodyBytes > 0 ? Buffer.alloc(m.bodyBytes, 'x') : null]));
  const records: RequestRecord[] = [];
  const skipped = Array.from({ length: Math.ceil(o.durationMs / 1000) }, () => 0);
  const pending = new Set<Promise<void>>();

  // Rows are by scheduled time, so every full second holds `rate` sends however late a tick ran.
  const send = (seq: number, scheduledMs: number) => {
    const entry = slots[seq % slots.length]!;
    const second = Math.floor(scheduledMs / 1000);
    const sentMs = performance.now() - o.startAt;
    if (pending.size >= o.connections) {
      skipped[second] = (skipped[second] ?? 0) + 1;
      return;
    }
    const p = one(pool, entry, bodies.get(entry) ?? null, o.timeoutMs).then((r) => {
      records.push({ seq, method: entry.method, sentMs: round(sentMs), second, ...r });
      pending.delete(p);
    });
    pending.add(p);
  };

  try {
    let next = 0;
    while (next < total && !o.signal?.aborted) {
      const now = performance.now() - o.startAt;
      while (next < total && due(next) <= now) {
        send(next, due(next));
        next++;
      }
      if (next < total) await sleep(Math.max(0, Math.min(TICK_MS, due(next) - (performance.now() - o.startAt))));
    }
    await Promise.all(pending);
  } finally {
    await pool.destroy();
  }
  records.sort((a, b) => a.seq - b.seq);
  return { records, skipped };
}

/** Shares as a repeating pattern (3 GET : 1 POST → GET GET GET POST), so a run is reproducible. */
function mixSlots(mix: MixEntry[]): MixEntry[] {
  return mix.flatMap((m) => Array.from({ length: m.share }, () => m));
}

async function one(
  pool: Pool,
  entry: MixEntry,
  body: Buffer | null,
  timeoutMs: number,
): Promise<Pick<RequestRecord, 'status' | 'code' | 'latencyMs' | 'chain' | 'retryAfter'>> {
  const started = performance.now();
  let status: number | null = null;
  let chain: ChainMember[] = [];
  let retryAfter: string | null = null;
  try {
    const res = await pool.request({
      path: entry.path,
      method: entry.method,
      body,
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    status = res.statusCode;
    chain = members(res.headers['proxy-status']);
    const ra = res.headers['retry-after'];
    retryAfter = typeof ra === 'string' ? ra : null;
    // The body is part of what the user waits for, and a cut one is a failure they see.
    await res.body.arrayBuffer();
    return { status, code: null, latencyMs: round(performance.now() - started), chain, retryAfter };
  } catch (err) {
    return { status, code: errorCode(err), latencyMs: round(performance.now() - started), chain, retryAfter };
  }
}

function members(header: string | string[] | undefined): ChainMember[] {
  if (header === undefined) return [];
  const value = Array.isArray(header) ? header.join(', ') : header;
  return parseProxyStatus(value).map((m) => ({
    name: m.name,
    error: typeof m.params['error'] === 'string' ? m.params['error'] : null,
    details: typeof m.params['details'] === 'string' ? m.params['details'] : null,
    receivedStatus: typeof m.params['received-status'] === 'number' ? m.params['received-status'] : null,
  }));
}

function errorCode(err: unknown): string {
  const e = err as { name?: string; code?: unknown; cause?: { code?: unknown } };
  if (e?.name === 'TimeoutError') return 'timeout';
  if (typeof e?.code === 'string' && e.code !== 'UND_ERR_ABORTED') return e.code;
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  return e?.name ?? 'error';
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
