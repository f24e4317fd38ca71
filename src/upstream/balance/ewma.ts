import type { EndpointState } from '../endpoint.ts';
import { type Balancer, type BalancerOptions, Candidates } from './balancer.ts';

/** Weight of a new sample in the latency average: 0.3 follows a change within a few requests. */
export const DEFAULT_EWMA_ALPHA = 0.3;

/**
 * Folds one latency sample (time to response headers, ms) into the endpoint's average.
 * The first sample is taken as is, so one answer is enough to rank an endpoint.
 */
export function recordLatency(ep: EndpointState, ms: number, alpha: number = DEFAULT_EWMA_ALPHA): void {
  const prev = ep.ewmaMs;
  ep.ewmaMs = prev === null ? ms : prev + alpha * (ms - prev);
}

/**
 * Latency-aware power of two choices (Finagle's and Linkerd's P2C-EWMA): draw two distinct
 * candidates, each with a probability proportional to its weight, and keep the one with
 * the lower expected cost, ewmaMs × (inflight + 1): how long a new request would wait
 * behind the ones already there.
 *
 * The weight enters through the draw, not the cost: dividing the cost by the weight makes
 * the lightest endpoint of an idle pool lose every comparison, so it would get nothing
 * at all; drawn by weight and compared at equal cost (the first draw wins ties), shares
 * follow the weights, and latency and load move them from there.
 *
 * An endpoint with no latency yet (new, or back from an outage) is costed at the best
 * latency known among the candidates, so it gets traffic and thereby a measurement.
 */
export class EwmaBalancer implements Balancer {
  private readonly candidates: Candidates;
  private readonly random: () => number;

  constructor(opts: BalancerOptions = {}) {
    this.candidates = new Candidates(opts.slowStartMs ?? 0);
    this.random = opts.random ?? Math.random;
  }

  pick(endpoints: readonly EndpointState[], exclude: ReadonlySet<EndpointState> | null, now: number): EndpointState | null {
    const c = this.candidates;
    if (!c.collect(endpoints, exclude, now)) return null;
    const a = c.weighted(this.random() * c.total, -1);
    if (c.count === 1) return endpoints[a]!;
    const b = c.weighted(this.random() * (c.total - c.weights[a]!), a);
    const ea = endpoints[a]!;
    const eb = endpoints[b]!;
    const unknown = ea.ewmaMs === null || eb.ewmaMs === null ? this.bestKnown(endpoints) : 0;
    const costA = (ea.ewmaMs ?? unknown) * (ea.inflight + 1);
    const costB = (eb.ewmaMs ?? unknown) * (eb.inflight + 1);
    return costB < costA ? eb : ea;
  }

  /** The lowest latency among the candidates; 1 when none has one, so inflight still counts. */
  private bestKnown(endpoints: readonly EndpointState[]): number {
    const w = this.candidates.weights;
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.candidates.size; i++) {
      const e = endpoints[i]!.ewmaMs;
      if (w[i] !== 0 && e !== null && e < best) best = e;
    }
    return best === Number.POSITIVE_INFINITY ? 1 : best;
  }
}
