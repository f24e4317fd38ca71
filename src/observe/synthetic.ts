import type { Logger } from 'pino';
import { Agent, request } from 'undici';
import type { SyntheticCheck } from '../config/schema.ts';
import { classifyUpstreamError } from '../errors/classify.ts';
import { parseProxyStatus } from '../errors/proxy-status.ts';
import { isProxyErrorType, PROXY_ERROR_TYPES } from '../errors/types.ts';
import { Ring } from './ring.ts';

export type Via = 'gateway' | 'origin';

export type ProbeResult = {
  readonly at: string;
  readonly ok: boolean;
  readonly status: number | null;
  readonly durationMs: number;
  /** Proxy-Status error type (from the gateway's answer, or classified for the direct probe), `http_<status>`, or null when ok. */
  readonly cause: string | null;
  readonly message: string | null;
  readonly requestId: string | null;
};

/**
 * The answer to "down for everyone, or just me?" from the gateway's side:
 * up: both answer (a user who sees errors has a problem between them and the gateway);
 * masked: the origin probe fails but the gateway still answers (a retry or another endpoint hides it);
 * gateway: the origin answers directly but not through the gateway (route, connection, health decision);
 * down: both fail, the origin is down for everyone; failing: the gateway probe fails, no origin probe to compare.
 */
export type Verdict = { readonly code: 'pending' | 'up' | 'masked' | 'gateway' | 'down' | 'failing'; readonly text: string };

export type CheckStatus = {
  readonly name: string;
  readonly url: string;
  readonly origin: string | null;
  readonly intervalMs: number;
  readonly verdict: Verdict;
  readonly gateway: readonly ProbeResult[];
  readonly direct: readonly ProbeResult[] | null;
};

const HISTORY = 60;

type State = { check: SyntheticCheck; gateway: Ring<ProbeResult>; direct: Ring<ProbeResult> | null; verdict: Verdict; timer: NodeJS.Timeout | null };

export type SyntheticOptions = {
  readonly checks: readonly SyntheticCheck[];
  /** http://host:port of the gateway's listener. */
  readonly gatewayUrl: string;
  readonly events: Logger;
  readonly onProbe?: (check: SyntheticCheck, via: Via, r: ProbeResult) => void;
  readonly onVerdict?: (status: CheckStatus, previous: Verdict) => void;
};

/** Probes every check through the gateway and straight to the origin, on its own schedule. */
export class SyntheticChecker {
  private readonly opts: SyntheticOptions;
  private readonly states: State[];
  // Fresh connections (reset: true) so a probe tests connecting, as a new visitor would.
  private readonly agent = new Agent({ connections: 4 });
  /**
   * The gateway's own TLS listener, reached on loopback: its certificate names the site,
   * not 127.0.0.1, and it is our own process, so it is not verified (origins still are).
   */
  private readonly self: Agent;
  private running = false;
  private readonly inflight = new Set<Promise<void>>();

  constructor(opts: SyntheticOptions) {
    this.opts = opts;
    this.self = opts.gatewayUrl.startsWith('https:') ? new Agent({ connections: 4, connect: { rejectUnauthorized: false } }) : this.agent;
    this.states = opts.checks.map((check) => ({
      check,
      gateway: new Ring(HISTORY),
      direct: check.origin ? new Ring(HISTORY) : null,
      verdict: { code: 'pending', text: 'no probe yet' },
      timer: null,
    }));
  }

  start(): void {
    this.running = true;
    for (const s of this.states) this.schedule(s, 0);
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const s of this.states) if (s.timer) clearTimeout(s.timer);
    await Promise.allSettled([...this.inflight]);
    await this.agent.close();
    if (this.self !== this.agent) await this.self.close();
  }

  /** Probes every check now (tests, and the first round). */
  async runOnce(): Promise<void> {
    await Promise.all(this.states.map((s) => this.probe(s)));
  }

  status(): CheckStatus[] {
    return this.states.map((s) => ({
      name: s.check.name,
      url: s.check.url,
      origin: s.check.origin,
      intervalMs: s.check.intervalMs,
      verdict: s.verdict,
      gateway: s.gateway.toArray(),
      direct: s.direct?.toArray() ?? null,
    }));
  }

  private schedule(s: State, delayMs: number): void {
    if (!this.running) return;
    s.timer = setTimeout(() => {
      const p = this.probe(s).finally(() => {
        this.inflight.delete(p);
        this.schedule(s, s.check.intervalMs);
      });
      this.inflight.add(p);
    }, delayMs);
    s.timer.unref();
  }

  private async probe(s: State): Promise<void> {
    const c = s.check;
    const headers: Record<string, string> = { 'user-agent': `gatewise-synthetic/${c.name}` };
    if (c.host) headers['host'] = c.host;
    const [g, d] = await Promise.all([
      this.one(`${this.opts.gatewayUrl}${c.path}`, headers, c.timeoutMs, 'gateway'),
      c.origin ? this.one(c.origin, { 'user-agent': headers['user-agent']! }, c.timeoutMs, 'origin') : null,
    ]);
    s.gateway.push(g);
    this.opts.onProbe?.(c, 'gateway', g);
    if (d && s.direct) {
      s.direct.push(d);
      this.opts.onProbe?.(c, 'origin', d);
    }
    const previous = s.verdict;
    s.verdict = verdict(g, d);
    if (previous.code !== s.verdict.code) {
      this.opts.events.info({ check: c.name, verdict: s.verdict.code, was: previous.code }, `synthetic ${c.name}: ${s.verdict.text}`);
      this.opts.onVerdict?.(this.status().find((x) => x.name === c.name)!, previous);
    }
  }

  private async one(url: string, headers: Record<string, string>, timeoutMs: number, via: Via): Promise<ProbeResult> {
    const start = performance.now();
    const at = new Date().toISOString();
    const signal = AbortSignal.timeout(timeoutMs);
    const took = () => Math.round((performance.now() - start) * 10) / 10;
    try {
      const res = await request(url, { dispatcher: via === 'gateway' ? this.self : this.agent, headers, signal, reset: true });
      await res.body.dump();
      const ok = res.statusCode >= 200 && res.statusCode < 400;
      const requestId = header(res.headers['x-request-id']);
      const cause = ok ? null : (proxyStatusError(header(res.headers['proxy-status'])) ?? `http_${res.statusCode}`);
      return { at, ok, status: res.statusCode, durationMs: took(), cause, message: ok ? null : describeCause(cause!), requestId };
    } catch (err) {
      if (signal.aborted) {
        return { at, ok: false, status: null, durationMs: took(), cause: 'http_response_timeout', message: `no answer within ${timeoutMs} ms`, requestId: null };
      }
      if (via === 'gateway') {
        const message = `the gateway itself did not answer: ${(err as Error).message}`;
        return { at, ok: false, status: null, durationMs: took(), cause: 'gateway_unreachable', message, requestId: null };
      }
      const u = new URL(url);
      const e = classifyUpstreamError(err, {
        progress: 'connecting',
        hop: { pool: 'synthetic', endpoint: u.host, attempt: 1, reused: false },
        limits: { connectMs: timeoutMs, responseHeaderMs: timeoutMs, idleMs: timeoutMs },
      });
      return { at, ok: false, status: null, durationMs: took(), cause: e.type, message: e.message, requestId: null };
    }
  }
}

function header(v: string | string[] | undefined): string | null {
  return Array.isArray(v) ? (v.at(-1) ?? null) : (v ?? null);
}

/** The error the last proxy in the chain reported. */
function proxyStatusError(value: string | null): string | null {
  if (!value) return null;
  const withError = parseProxyStatus(value).filter((m) => typeof m.params['error'] === 'string');
  return (withError.at(-1)?.params['error'] as string | undefined) ?? null;
}

export function describeCause(cause: string): string {
  if (isProxyErrorType(cause)) return `${PROXY_ERROR_TYPES[cause].title} (${cause})`;
  if (cause === 'gateway_unreachable') return 'the gateway itself did not answer';
  return `answered ${cause.replace(/^http_/, 'HTTP ')}`;
}

function verdict(g: ProbeResult, d: ProbeResult | null): Verdict {
  const why = (r: ProbeResult) => r.message ?? describeCause(r.cause ?? 'unknown');
  if (g.ok && (!d || d.ok)) return { code: 'up', text: 'up through the gateway and at the origin: a user who sees errors has a problem between them and the gateway' };
  if (g.ok && d) return { code: 'masked', text: `the origin probe fails (${why(d)}) but the gateway still answers: a retry or another endpoint hides it` };
  if (!d) return { code: 'failing', text: `failing through the gateway: ${why(g)}` };
  if (d.ok) return { code: 'gateway', text: `the origin answers directly but not through the gateway (${why(g)}): check the route, the gateway's connection to the origin and its health decisions` };
  return { code: 'down', text: `down for everyone: the origin itself fails (${why(d)})` };
}
