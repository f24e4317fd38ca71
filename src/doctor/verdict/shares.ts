// How often each hop failed over repeated runs: an intermittent failure shows up as a share
// between 0 and 1 at one hop, which says where to look better than any single run.
import type { HopShare, Walk, WalkHop } from '../probe/types.ts';

export const WALK_HOPS: readonly WalkHop[] = ['dns', 'tcp', 'tls', 'http'];

export function hopShares(runs: readonly Walk[]): Record<WalkHop, HopShare> {
  const reachedBy = (w: Walk, hop: WalkHop): boolean => {
    if (hop === 'dns') return true;
    if (hop === 'tcp') return w.tcp.length > 0;
    if (hop === 'tls') return w.tls !== null;
    return w.http !== null;
  };
  const out = {} as Record<WalkHop, HopShare>;
  for (const hop of WALK_HOPS) {
    const reached = runs.filter((w) => reachedBy(w, hop)).length;
    const failed = runs.filter((w) => w.failedAt === hop).length;
    out[hop] = { reached, failed, share: runs.length === 0 ? 0 : Math.round((failed / runs.length) * 1000) / 1000 };
  }
  return out;
}
