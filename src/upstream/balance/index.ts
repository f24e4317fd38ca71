import type { Balancer, BalancerOptions } from './balancer.ts';
import { EwmaBalancer } from './ewma.ts';
import { LeastRequestBalancer } from './least-request.ts';
import { RoundRobinBalancer } from './round-robin.ts';

export type { Balancer, BalancerOptions } from './balancer.ts';
export { effectiveWeight } from './balancer.ts';
export { DEFAULT_EWMA_ALPHA, EwmaBalancer, recordLatency } from './ewma.ts';
export { LeastRequestBalancer } from './least-request.ts';
export { RoundRobinBalancer } from './round-robin.ts';

export type BalancerKind = 'round_robin' | 'least_request' | 'ewma';

/** The policy named by an upstream's `balance` option; one instance per pool (it keeps state). */
export function createBalancer(kind: BalancerKind, opts: BalancerOptions = {}): Balancer {
  switch (kind) {
    case 'round_robin':
      return new RoundRobinBalancer(opts);
    case 'least_request':
      return new LeastRequestBalancer(opts);
    case 'ewma':
      return new EwmaBalancer(opts);
  }
}
