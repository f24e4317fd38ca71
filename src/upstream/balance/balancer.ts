import { type EndpointState, isAvailable } from '../endpoint.ts';

/**
 * A selection policy: which endpoint of a pool takes the next try.
 *
 * Every policy sees the same candidates: the available endpoints (`isAvailable`) not in
 * `exclude` (those this request already tried), primaries first, backups only when no
 * primary is left, each with its weight lowered while it slow-starts.
 */
export interface Balancer {
  pick(endpoints: readonly EndpointState[], exclude: ReadonlySet<EndpointState> | null, now: number): EndpointState | null;
}

export type BalancerOptions = {
  /** Ramp-up time of an endpoint that came back (`upSince`); 0 = off. Default 0. */
  readonly slowStartMs?: number;
  /** [0, 1); injectable so tests are repeatable. Default Math.random. */
  readonly random?: () => number;
};

/** Share of its weight an endpoint gets at the instant it comes back. */
const SLOW_START_FLOOR = 0.1;

/**
 * The weight an endpoint is picked with now: its configured weight, scaled linearly from
 * 10% to 100% over `slowStartMs` after it came back, so a cold cache or a JIT-less runtime
 * is not handed its full share at once. `upSince` 0 means it never went down.
 */
export function effectiveWeight(ep: EndpointState, now: number, slowStartMs: number): number {
  const w = ep.config.weight;
  if (slowStartMs <= 0 || ep.upSince === 0) return w;
  const elapsed = now - ep.upSince;
  if (elapsed >= slowStartMs) return w;
  const f = elapsed <= 0 ? 0 : elapsed / slowStartMs;
  return w * (SLOW_START_FLOOR + (1 - SLOW_START_FLOOR) * f);
}

/**
 * The candidates of one pick, kept in a scratch array reused across picks so that
 * selection allocates nothing per request: `weights[i]` is the effective weight of
 * `endpoints[i]`, or 0 when it is not a candidate.
 */
export class Candidates {
  weights = new Float64Array(0);
  /** How many entries of `weights` belong to the last collected list. */
  size = 0;
  count = 0;
  total = 0;
  private readonly slowStartMs: number;

  constructor(slowStartMs: number) {
    this.slowStartMs = slowStartMs;
  }

  /**
   * Fills in the candidates of the first tier that has any: the primaries, else the
   * backups. An excluded primary counts as out, so a retry after every primary failed
   * goes to a backup, as nginx's `backup` does. Returns false when there is none.
   */
  collect(endpoints: readonly EndpointState[], exclude: ReadonlySet<EndpointState> | null, now: number): boolean {
    const n = endpoints.length;
    if (this.weights.length < n) this.weights = new Float64Array(n);
    const w = this.weights;
    this.size = n;
    for (let tier = 0; tier < 2; tier++) {
      const backup = tier === 1;
      let count = 0;
      let total = 0;
      for (let i = 0; i < n; i++) {
        const ep = endpoints[i]!;
        if (ep.config.backup !== backup || exclude?.has(ep) || !isAvailable(ep, now)) {
          w[i] = 0;
          continue;
        }
        const ew = effectiveWeight(ep, now, this.slowStartMs);
        w[i] = ew;
        count++;
        total += ew;
      }
      if (count > 0) {
        this.count = count;
        this.total = total;
        return true;
      }
    }
    this.count = 0;
    this.total = 0;
    return false;
  }

  /** The candidate at weighted position `r` ∈ [0, total − weights[skip]), `skip` left out (-1: none). */
  weighted(r: number, skip: number): number {
    const w = this.weights;
    let last = -1;
    for (let i = 0; i < this.size; i++) {
      const wi = w[i]!;
      if (wi === 0 || i === skip) continue;
      last = i;
      if (r < wi) return i;
      r -= wi;
    }
    // Floating-point rounding can leave r a hair above the last weight.
    return last;
  }
}
