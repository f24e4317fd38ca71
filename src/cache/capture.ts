import type CachePolicy from 'http-cache-semantics';
import { type CacheRequest, storablePolicy } from './rules.ts';
import { type CacheEntry, type ResponseCache, varyValues } from './store.ts';

type Headers = Record<string, string | string[] | undefined>;

/**
 * Keeps a copy of a response as it streams to the client, and stores it once it is complete,
 * if the cache rules allow it and it fits. A try that fails stores nothing.
 */
export class BodyCapture {
  private readonly cache: ResponseCache;
  private readonly key: string;
  private readonly req: CacheRequest;
  private readonly maxBytes: number;
  private policy: CachePolicy | null = null;
  private status = 0;
  private vary: Map<string, string> | null = null;
  private chunks: Buffer[] = [];
  private bytes = 0;

  constructor(cache: ResponseCache, key: string, req: CacheRequest, maxBytes: number) {
    this.cache = cache;
    this.key = key;
    this.req = req;
    this.maxBytes = maxBytes;
  }

  start(status: number, headers: Headers): void {
    const length = Number(headers['content-length']);
    // Only a whole body is stored: not a partial one (206), and not a HEAD's missing one.
    if (length > this.maxBytes || status === 206 || this.req.method === 'HEAD') return;
    try {
      this.policy = storablePolicy(this.req, status, headers);
      this.vary = varyValues(headers.vary, this.req.headers);
    } catch {
      // Headers the rules cannot read: the response goes to the client, only not into the cache.
      this.policy = null;
    }
    this.status = status;
    if (this.vary === null) this.policy = null;
  }

  add(chunk: Buffer): void {
    if (this.policy === null) return;
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      this.policy = null;
      this.chunks = [];
      return;
    }
    this.chunks.push(chunk);
  }

  end(): void {
    if (this.policy === null) return;
    const entry: CacheEntry = {
      policy: this.policy,
      status: this.status,
      body: Buffer.concat(this.chunks, this.bytes),
      vary: this.vary,
    };
    this.chunks = [];
    this.cache.store(this.key, entry);
  }
}
