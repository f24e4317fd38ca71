import type { Endpoint } from '../config/schema.ts';
import { PROXY_ERROR_TYPES, type ProxyErrorType } from '../errors/types.ts';
import type { AttemptEndEvent, EndpointHealthEvent } from './events.ts';
import { Ring } from './ring.ts';

/**
 * What the admin side needs of the pools. Structural on purpose: the resilience work adds
 * fields to the endpoint state (active, down), and this side reads them only if present.
 */
export type PoolsLike = ReadonlyMap<string, { readonly name: string; readonly endpoints: readonly PoolEndpoint[] }>;

type PoolEndpoint = { readonly address: string; readonly config: Endpoint; readonly inflight: number };

/**
 * up: takes traffic and its last tries worked; down: the gateway took it out (health check,
 * ejection, breaker); failing: still tried, but the last tries failed; idle: no evidence yet.
 */
export type Health = 'up' | 'down' | 'failing' | 'idle';

export type EndpointView = {
  readonly pool: string;
  readonly address: string;
  readonly url: string;
  readonly backup: boolean;
  readonly health: Health;
  /** Why it is down or failing, in words; null when up. */
  readonly reason: string | null;
  readonly by: 'active' | 'passive' | 'breaker' | 'traffic' | null;
  /** Since when (epoch ms) it is in this state. */
  readonly since: number;
  readonly inflight: number;
  readonly ewmaMs: number | null;
  readonly lastError: { readonly type: ProxyErrorType; readonly title: string; readonly at: number } | null;
};

export type HealthChange = { readonly t: number; readonly health: Health; readonly reason: string | null };

/** Consecutive failed tries before an endpoint that is still tried shows as failing. */
const FAILING_AFTER = 3;
const HISTORY = 100;

type Seen = {
  consecutiveFailures: number;
  lastError: EndpointView['lastError'];
  tried: boolean;
  /** The last health event the gateway published for it. */
  event: EndpointHealthEvent | null;
  current: { health: Health; reason: string | null; by: EndpointView['by']; since: number };
  history: Ring<HealthChange>;
};

/** Follows every endpoint's health from the gateway's own decisions and from what its tries met. */
export class EndpointTracker {
  private readonly pools: PoolsLike;
  /** By pool, then by endpoint address: no key is built per request. */
  private readonly seen = new Map<string, Map<string, Seen>>();
  private readonly onChange: (view: EndpointView, previous: Health) => void;

  constructor(pools: PoolsLike, onChange: (view: EndpointView, previous: Health) => void = () => {}) {
    this.pools = pools;
    this.onChange = onChange;
    const now = Date.now();
    for (const p of pools.values()) {
      for (const ep of p.endpoints) {
        const history = new Ring<HealthChange>(HISTORY);
        history.push({ t: now, health: 'idle', reason: null });
        this.remember(p.name, ep.address, {
          consecutiveFailures: 0,
          lastError: null,
          tried: false,
          event: null,
          current: { health: 'idle', reason: null, by: null, since: now },
          history,
        });
      }
    }
  }

  private seenOf(pool: string, address: string): Seen | undefined {
    return this.seen.get(pool)?.get(address);
  }

  private remember(pool: string, address: string, s: Seen): void {
    let byAddress = this.seen.get(pool);
    if (byAddress === undefined) {
      byAddress = new Map();
      this.seen.set(pool, byAddress);
    }
    byAddress.set(address, s);
  }

  onAttempt(e: AttemptEndEvent): void {
    const s = this.seenOf(e.pool, e.endpoint);
    if (!s) return;
    // Another success of an endpoint already known to answer changes nothing (this runs for
    // every request; what changes otherwise comes by onHealth and the refresh every second).
    if (e.errorType === null && s.tried && s.consecutiveFailures === 0) return;
    s.tried = true;
    if (e.errorType === null) s.consecutiveFailures = 0;
    // A client that left, or a bug in the gateway, says nothing about the endpoint.
    else if (PROXY_ERROR_TYPES[e.errorType].hop === 'origin') {
      s.consecutiveFailures++;
      s.lastError = { type: e.errorType, title: PROXY_ERROR_TYPES[e.errorType].title, at: Date.now() };
    }
    const pool = this.pools.get(e.pool);
    const ep = pool?.endpoints.find((x) => x.address === e.endpoint);
    if (ep) this.update(e.pool, ep, s, Date.now());
  }

  onHealth(e: EndpointHealthEvent): void {
    const s = this.seenOf(e.pool, e.endpoint);
    if (!s) return;
    s.event = e;
    this.refresh();
  }

  /** Recomputes every endpoint's health, recording changes (called on events and every second). */
  refresh(now = Date.now()): void {
    for (const p of this.pools.values()) {
      for (const ep of p.endpoints) {
        const s = this.seenOf(p.name, ep.address);
        if (s) this.update(p.name, ep, s, now);
      }
    }
  }

  private update(pool: string, ep: PoolEndpoint, s: Seen, now: number): void {
    const next = judge(ep, s);
    if (next.health === s.current.health && next.reason === s.current.reason) return;
    const previous = s.current.health;
    s.current = { ...next, since: now };
    s.history.push({ t: now, health: next.health, reason: next.reason });
    this.onChange(this.view(pool, ep, s), previous);
  }

  views(): EndpointView[] {
    const out: EndpointView[] = [];
    for (const p of this.pools.values()) {
      for (const ep of p.endpoints) {
        const s = this.seenOf(p.name, ep.address);
        if (s) out.push(this.view(p.name, ep, s));
      }
    }
    return out;
  }

  history(pool: string, address: string): HealthChange[] {
    return this.seenOf(pool, address)?.history.toArray() ?? [];
  }

  private view(pool: string, ep: PoolEndpoint, s: Seen): EndpointView {
    const ewma = (ep as { ewmaMs?: unknown }).ewmaMs;
    return {
      pool,
      address: ep.address,
      url: ep.config.url,
      backup: ep.config.backup,
      health: s.current.health,
      reason: s.current.reason,
      by: s.current.by,
      since: s.current.since,
      inflight: ep.inflight,
      ewmaMs: typeof ewma === 'number' ? Math.round(ewma * 10) / 10 : null,
      lastError: s.lastError,
    };
  }
}

type Judgement = { health: Health; reason: string | null; by: EndpointView['by'] };

function judge(ep: object, s: Seen): Judgement {
  const state = gatewayDecision(ep);
  if (state?.down) return { health: 'down', reason: state.reason, by: state.by };
  // Without the state fields, the last published event is the gateway's decision.
  if (state === null && s.event?.state === 'down') return { health: 'down', reason: explainBy(s.event.by, s.event.reason), by: s.event.by };
  if (s.consecutiveFailures >= FAILING_AFTER && s.lastError) {
    return { health: 'failing', reason: `its last tries failed: ${s.lastError.title} (${s.lastError.type})`, by: 'traffic' };
  }
  if (s.tried || s.event?.state === 'up' || (ep as { active?: unknown }).active === 'up') return { health: 'up', reason: null, by: null };
  return { health: 'idle', reason: null, by: null };
}

type Decision = { down: true; by: 'active' | 'passive' | 'breaker'; reason: string } | { down: false };

/** Reads the endpoint state of the resilience work, if it is there; null when it is not. */
function gatewayDecision(ep: object): Decision | null {
  const s = ep as { active?: unknown; down?: unknown };
  if (!('active' in s) && !('down' in s)) return null;
  const d = s.down as { by?: unknown; detail?: unknown; until?: unknown } | null | undefined;
  const detail = typeof d?.detail === 'string' ? d.detail : null;
  if (s.active === 'down') return { down: true, by: 'active', reason: explainBy('active', detail ?? 'health check failing') };
  if (!d || (d.by !== 'active' && d.by !== 'passive' && d.by !== 'breaker')) return { down: false };
  if (d.by !== 'active' && typeof d.until === 'number' && !before(d.until)) return { down: false };
  return { down: true, by: d.by, reason: explainBy(d.by, detail ?? 'down') };
}

/** `until` is performance.now() ms in the resilience work; an epoch value is accepted too. */
function before(until: number): boolean {
  return (until > 1e12 ? Date.now() : performance.now()) < until;
}

function explainBy(by: 'active' | 'passive' | 'breaker', detail: string): string {
  const who = by === 'active' ? 'health check' : by === 'passive' ? 'ejected after failures' : 'circuit breaker open';
  return `${who}: ${detail}`;
}
