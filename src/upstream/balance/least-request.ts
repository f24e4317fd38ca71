import type { EndpointState } from '../endpoint.ts';
import { type Balancer, type BalancerOptions, Candidates } from './balancer.ts';

/**
 * Power of two random choices on requests in flight: draw two distinct candidates, each
 * with a probability proportional to its weight, and keep the one with fewer requests in
 * flight per unit of weight. Picking the least loaded of two, rather than of all, avoids
 * the herd that a strict least-connections sends to an endpoint that just came back
 * (Mitzenmacher; Envoy's LEAST_REQUEST, Finagle's P2C).
 *
 * At equal load (say, all idle) the first draw wins, so shares follow the weights; under
 * load, inflight/weight evens out, which again gives throughput proportional to weight.
 */
export class LeastRequestBalancer implements Balancer {
  private readonly candidates: Candidates;
  private readonly random: () => number;

  constructor(opts: BalancerOptions = {}) {
    this.candidates = new Candidates(opts.slowStartMs ?? 0);
    this.random = opts.random ?? Math.random;
  }

  pick(endpoints: readonly EndpointState[], exclude: ReadonlySet<EndpointState> | null, now: number): EndpointState | null {
    const c = this.candidates;
    if (!c.collect(endpoints, exclude, now)) return null;
    const w = c.weights;
    const a = c.weighted(this.random() * c.total, -1);
    if (c.count === 1) return endpoints[a]!;
    const b = c.weighted(this.random() * (c.total - w[a]!), a);
    const ea = endpoints[a]!;
    const eb = endpoints[b]!;
    return eb.inflight / w[b]! < ea.inflight / w[a]! ? eb : ea;
  }
}
