import { send } from './client.ts';

/** cut: the response broke off (or never came); status is what had arrived, 0 for nothing. */
export type Seen = { status: number; errorType: string | null; requestId: string | null; cut: boolean };

/**
 * A bounded load: `concurrency` clients send requests to the paths in turn, each pausing
 * `pauseMs` between requests, until stop() or `max` requests. Every answer the client saw
 * is kept, with the Proxy-Status error type it carried.
 */
export function startLoad(base: string, paths: string[], opts: { concurrency?: number; pauseMs?: number; max?: number } = {}) {
  const seen: Seen[] = [];
  let stopped = false;
  let sent = 0;
  const max = opts.max ?? 5_000;
  const worker = async (w: number): Promise<void> => {
    for (let i = w; !stopped && sent < max; i++) {
      sent++;
      const r = await send(`${base}${paths[i % paths.length]}`, { timeoutMs: 5_000 });
      if (r.ok) {
        const ps = r.headers['proxy-status'];
        const m = typeof ps === 'string' ? /error=([a-z_]+)/.exec(ps) : null;
        const id = r.headers['x-request-id'];
        seen.push({ status: r.status, errorType: m ? m[1]! : null, requestId: typeof id === 'string' ? id : null, cut: !r.complete });
      } else seen.push({ status: r.status ?? 0, errorType: null, requestId: null, cut: true });
      if (opts.pauseMs) await new Promise((res) => setTimeout(res, opts.pauseMs));
    }
  };
  const done = Promise.all(Array.from({ length: opts.concurrency ?? 2 }, (_, w) => worker(w)));
  return {
    seen,
    /** Stops sending and waits for the requests in flight. */
    stop: async (): Promise<Seen[]> => {
      stopped = true;
      await done;
      return seen;
    },
    done,
  };
}
