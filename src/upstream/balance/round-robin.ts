import type { EndpointState } from '../endpoint.ts';
import { type Balancer, type BalancerOptions, Candidates } from './balancer.ts';

/**
 * Smooth weighted round robin, as nginx does it (ngx_http_upstream_get_peer): each pick
 * adds every candidate's weight to its running score, takes the highest score and
 * subtracts the total from it. Weights 5:1:1 give a a b a c a a rather than a a a a a b c,
 * so no endpoint receives a burst.
 */
export class RoundRobinBalancer implements Balancer {
  private readonly candidates: Candidates;
  /** Running scores, by position in `list`. */
  private current = new Float64Array(0);
  /** The endpoints the scores belong to (a copy: callers may pass a new array each time). */
  private list: EndpointState[] = [];

  constructor(opts: BalancerOptions = {}) {
    this.candidates = new Candidates(opts.slowStartMs ?? 0);
  }

  pick(endpoints: readonly EndpointState[], exclude: ReadonlySet<EndpointState> | null, now: number): EndpointState | null {
    const c = this.candidates;
    if (!c.collect(endpoints, exclude, now)) return null;
    if (!this.same(endpoints)) {
      // Another endpoint list (a reload, a DNS change): old scores belong to other positions.
      this.list = endpoints.slice();
      this.current = new Float64Array(endpoints.length);
    }
    const cur = this.current;
    const w = c.weights;
    let best = -1;
    for (let i = 0; i < endpoints.length; i++) {
      const wi = w[i]!;
      if (wi === 0) continue;
      const score = cur[i]! + wi;
      cur[i] = score;
      if (best < 0 || score > cur[best]!) best = i;
    }
    cur[best] = cur[best]! - c.total;
    return endpoints[best]!;
  }

  private same(endpoints: readonly EndpointState[]): boolean {
    const l = this.list;
    if (l.length !== endpoints.length) return false;
    for (let i = 0; i < l.length; i++) if (l[i] !== endpoints[i]) return false;
    return true;
  }
}
