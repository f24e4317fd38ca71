import type CachePolicy from 'http-cache-semantics';

/** One stored response: what the origin answered, and the rules that say when it may be reused. */
export type CacheEntry = {
  readonly policy: CachePolicy;
  readonly status: number;
  readonly body: Buffer;
  /** The request's values of the fields the response's Vary names (lower-cased); null: Vary: *. */
  readonly vary: ReadonlyMap<string, string> | null;
};

type Headers = Record<string, string | string[] | undefined>;

/**
 * Stored responses in memory, least recently used first out, within a byte budget (bodies
 * and a rough allowance for headers). A URL holds one entry per variant its Vary selects.
 */
export class ResponseCache {
  private readonly maxBytes: number;
  /** Insertion order is recency: a hit moves its key to the end. */
  private readonly byKey = new Map<string, CacheEntry[]>();
  private bytes = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  get size(): number {
    return this.bytes;
  }

  /** The entry whose Vary fields match this request's, or null. */
  find(key: string, reqHeaders: Headers): CacheEntry | null {
    const list = this.byKey.get(key);
    if (!list) return null;
    const hit = list.find((e) => varyMatches(e.vary, reqHeaders)) ?? null;
    if (hit) {
      this.byKey.delete(key);
      this.byKey.set(key, list);
    }
    return hit;
  }

  /** Forgets every variant of a URL (an unsafe method changed what it names, RFC 9111 §4.4). */
  invalidate(key: string): void {
    const list = this.byKey.get(key);
    if (!list) return;
    for (const e of list) this.bytes -= costOf(e);
    this.byKey.delete(key);
  }

  /** Stores `entry`, replacing the variant it matches, and evicts the least recently used beyond the budget. */
  store(key: string, entry: CacheEntry): void {
    const cost = costOf(entry);
    if (cost > this.maxBytes) return;
    const list = (this.byKey.get(key) ?? []).filter((e) => {
      if (!sameVariant(e.vary, entry.vary)) return true;
      this.bytes -= costOf(e);
      return false;
    });
    list.push(entry);
    this.bytes += cost;
    // A Vary on a field every client sends differently (User-Agent) must not grow without end.
    if (list.length > MAX_VARIANTS) this.bytes -= costOf(list.shift()!);
    this.byKey.delete(key);
    this.byKey.set(key, list);
    for (const [k, l] of this.byKey) {
      if (this.bytes <= this.maxBytes) break;
      for (const e of l) this.bytes -= costOf(e);
      this.byKey.delete(k);
    }
  }
}

const MAX_VARIANTS = 16;

/** The request's values of the fields a response's Vary names; null for Vary: *. */
export function varyValues(varyHeader: string | string[] | undefined, reqHeaders: Headers): Map<string, string> | null {
  const out = new Map<string, string>();
  const v = Array.isArray(varyHeader) ? varyHeader.join(',') : (varyHeader ?? '');
  for (const raw of v.split(',')) {
    const name = raw.trim().toLowerCase();
    if (name === '') continue;
    if (name === '*') return null;
    out.set(name, headerText(reqHeaders[name]));
  }
  return out;
}

function varyMatches(vary: ReadonlyMap<string, string> | null, reqHeaders: Headers): boolean {
  if (vary === null) return false;
  for (const [name, value] of vary) if (headerText(reqHeaders[name]) !== value) return false;
  return true;
}

function sameVariant(a: ReadonlyMap<string, string> | null, b: ReadonlyMap<string, string> | null): boolean {
  if (a === null || b === null || a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

function headerText(v: string | string[] | undefined): string {
  return Array.isArray(v) ? v.join(', ') : (v ?? '');
}

/** Bytes an entry is counted for: its body, and a flat allowance for headers and bookkeeping. */
function costOf(e: CacheEntry): number {
  return e.body.length + 1024;
}
