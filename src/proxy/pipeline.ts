import type { Duplex } from 'node:stream';
import { type CachePlan, cacheKey, cacheLookup } from '../cache/lookup.ts';
import { serveStored } from '../cache/respond.ts';
import { joined } from '../cache/rules.ts';
import type { CacheEntry, ResponseCache } from '../cache/store.ts';
import type { Logger } from 'pino';
import type { Config, } from '../config/schema.ts';
import { classifyInternalError } from '../errors/classify.ts';
import type { CustomPages } from '../errors/error-page.ts';
import { ProxyError } from '../errors/proxy-error.ts';
import { formatProxyStatusMember } from '../errors/proxy-status.ts';
import { type AccessOutput, loggedStatus, logRequest } from '../observe/access-log.ts';
import { channels, publishMasked, type RequestEndEvent } from '../observe/events.ts';
import { type Router, upstreamPath } from '../routing/router.ts';
import type { ClientRequest, ClientResponse } from '../server/exchange.ts';
import { type RequestCtx, cameOverTls, newCtx } from '../server/request-ctx.ts';
import type { UpstreamPool } from '../upstream/pool.ts';
import { type FailOptions, errorMember, failToProxy } from './fail-to-proxy.ts';
import { type ForwardingPolicy, type UpstreamRequestHead, trustedProxies, upstreamRequestHead } from './headers.ts';
import { attemptLoop } from './attempt-loop.ts';
import { Cancel } from './cancel.ts';
import { Deadlines } from './deadlines.ts';
import { redirectToHttps } from './https-redirect.ts';
import { bodyTooLarge, clientGone, maintenance, noEndpoint, noRoute, revalidationMismatch } from './gateway-errors.ts';
import { Tunnel, responseOnSocket } from './upgrade.ts';
import { afterSends } from '../http1/write-batch.ts';

export type PipelineDeps = {
  readonly config: Config;
  readonly router: Router;
  readonly pools: ReadonlyMap<string, UpstreamPool>;
  readonly accessLog: AccessOutput;
  readonly events: Logger;
  readonly pages: CustomPages | undefined;
  /** The stored responses of cached routes (kept across reloads); null: no route caches. */
  readonly cache?: ResponseCache | null;
};

/**
 * The request's path through the gateway, phase by phase:
 * newCtx → requestFilter → route → upstreamPeer/attempt (again on each retry) →
 * failToProxy → logging (always, exactly once).
 */
export class Pipeline {
  private readonly deps: PipelineDeps;
  private readonly policy: ForwardingPolicy;
  private readonly fail: FailOptions;
  /** Our Proxy-Status member for responses proxied from each pool, built once. */
  private readonly members = new Map<string, string>();
  /** The total deadlines of the requests in flight. */
  private readonly deadlines = new Deadlines();
  /** Requests being served: graceful stop waits for them. */
  inflight = 0;

  constructor(deps: PipelineDeps) {
    this.deps = deps;
    const { config } = deps;
    this.policy = {
      xForwarded: config.forwarded.xForwarded,
      forwarded: config.forwarded.forwarded,
      trusted: trustedProxies(config.forwarded.trustedProxies),
      hasTrusted: config.forwarded.trustedProxies.length > 0,
    };
    this.fail = { name: config.name, exposeInternals: config.errorPages.exposeInternals, pages: deps.pages };
    for (const pool of deps.pools.values()) {
      this.members.set(pool.name, formatProxyStatusMember({ name: config.name, nextHop: pool.name }));
    }
  }

  readonly handle = (req: ClientRequest, res: ClientResponse): void => {
    const ctx = newCtx(req, res);
    this.inflight++;
    this.run(ctx).then(
      // Its log line waits for the response's writes, when they are held (write-batch.ts).
      () => afterSends(this.endAfterSends, ctx),
      (err: unknown) => {
        const e = classifyInternalError(err, 'the request pipeline');
        this.deps.events.error({ err, reqId: ctx.requestId }, e.message);
        try {
          failToProxy(ctx, e, this.fail);
        } catch {
          res.destroy();
        }
        this.end(ctx);
      },
    );
  };

  private readonly endAfterSends = (ctx: RequestCtx): void => this.end(ctx);

  /** The logging phase: the access-log line and the request's event, exactly once. */
  private end(ctx: RequestCtx): void {
    this.inflight--;
    logRequest(this.deps.accessLog, ctx);
    if (channels.requestEnd.hasSubscribers) {
      const err = ctx.error;
      channels.requestEnd.publish({
        route: ctx.route?.name ?? null,
        pool: ctx.route?.upstream ?? null,
        method: ctx.req.method ?? '',
        status: loggedStatus(ctx),
        durationMs: performance.now() - ctx.start,
        attempts: ctx.attempts.length,
        upstream: ctx.attempts.at(-1)?.endpoint ?? null,
        errorType: err?.type ?? null,
        errorDetail: err?.detail ?? null,
        errorMessage: err ? err.explain() : null,
        requestId: ctx.requestId,
        time: ctx.time,
        cache: ctx.cache?.result ?? null,
      } satisfies RequestEndEvent);
    }
  }

  private async run(ctx: RequestCtx): Promise<void> {
    const { req, res } = ctx;
    const head = upstreamRequestHead(req, this.deps.config.name, this.policy);
    ctx.requestId = head.requestId;
    ctx.clientIp = head.clientIp;
    ctx.host = head.host;

    const early = this.requestFilter(head);
    if (early) return failToProxy(ctx, early, this.fail);

    const route = this.deps.router.match(head.host, req.url ?? '/');
    if (!route) return failToProxy(ctx, noRoute(head.host, req.url ?? '/'), this.fail);
    ctx.route = route;
    if (route.httpsRedirect && !cameOverTls(req)) return redirectToHttps(ctx, route.httpsRedirect.port);
    const pool = this.deps.pools.get(route.upstream)!;

    if (route.maintenance || pool.config.maintenance) return failToProxy(ctx, maintenance(`route "${route.name}"`), this.fail);

    // null: the cache answered; undefined: no cache on this request.
    let plan: CachePlan | null | undefined;
    const cache = route.cache && this.deps.cache;
    if (cache) {
      if (req.method === 'GET' || req.method === 'HEAD') {
        try {
          plan = cacheLookup(ctx, route.cache!, cache, this.deps.config.name);
        } catch (err) {
          // A stored response the rules cannot read must not take the route down: go to the origin.
          this.deps.events.warn({ err, reqId: ctx.requestId }, 'cache lookup failed; the request goes to the origin');
          plan = undefined;
        }
        if (plan === null) return;
      } else cache.invalidate(cacheKey(ctx));
    }

    const cancel = new Cancel(route);
    // Never removed: 'close' comes once, after the response, and then finds it finished.
    res.on('close', () => {
      if (res.writableFinished) return;
      ctx.clientGone = true;
      cancel.stop(clientGone());
    });
    this.deadlines.add(cancel, ctx.start, route.timeouts.totalMs);
    try {
      await attemptLoop({
        ctx,
        route,
        pool,
        // A stored copy's validators go along, so the origin can answer 304 instead of the body.
        head: plan?.revalidate ? { ...head, headers: [...head.headers, ...plan.revalidate.conditional] } : head,
        cancel,
        name: this.deps.config.name,
        proxyStatusMember: this.members.get(pool.name)!,
        limits: this.deps.config.limits,
        cache: plan && { capture: plan.capture, cacheStatus: plan.cacheStatus, replaceStatus: plan.replaceStatus },
      });
      const last = cancel.current;
      if (plan && last?.replaced) {
        const status = last.status!;
        if (status === 304 && plan.revalidate) this.revalidated(ctx, cache!, plan.revalidate, last.replacedHeaders!, pool.name);
        else if (plan.stale) {
          this.standIn(ctx, plan.stale, `origin_${status}`, status, formatProxyStatusMember({ name: this.deps.config.name, nextHop: pool.name, receivedStatus: status }));
        }
      }
    } catch (err) {
      const e = err instanceof ProxyError ? err : classifyInternalError(err, 'the attempt loop');
      // A failure of the client's own (it left, it sent a bad body) is not the origin's to hide.
      if (plan?.stale && e.source !== 'downstream' && !res.headersSent && !ctx.clientGone) {
        this.standIn(ctx, plan.stale, e.type, null, errorMember(e, this.fail));
      } else failToProxy(ctx, e, this.fail);
    } finally {
      this.deadlines.remove(cancel);
    }
  }

  /** Upgrade (WebSocket) requests: same phases, then a byte tunnel instead of a response. */
  readonly handleUpgrade = (req: ClientRequest, socket: Duplex, head: Buffer): void => {
    const ctx = newCtx(req, responseOnSocket(req, socket));
    this.inflight++;
    this.runUpgrade(ctx, socket, head)
      .catch((err: unknown) => {
        failToProxy(ctx, err instanceof ProxyError ? err : classifyInternalError(err, 'the upgrade tunnel'), this.fail);
        socket.end();
      })
      .finally(() => this.end(ctx));
  };

  private async runUpgrade(ctx: RequestCtx, socket: Duplex, headBytes: Buffer): Promise<void> {
    const { req } = ctx;
    const head = upstreamRequestHead(req, this.deps.config.name, this.policy);
    ctx.requestId = head.requestId;
    ctx.clientIp = head.clientIp;
    ctx.host = head.host;
    const early = this.requestFilter(head);
    if (early) throw early;
    const route = this.deps.router.match(head.host, req.url ?? '/');
    if (!route) throw noRoute(head.host, req.url ?? '/');
    ctx.route = route;
    const pool = this.deps.pools.get(route.upstream)!;
    const endpoint = pool.pick(null, performance.now());
    if (!endpoint) throw noEndpoint(pool, 0);
    const tunnel = new Tunnel({
      ctx,
      endpoint,
      path: upstreamPath(route, req.url ?? '/'),
      headers: head.headers,
      protocol: head.upgrade ?? req.headers.upgrade ?? 'websocket',
      head: headBytes,
      clientSocket: socket,
      name: this.deps.config.name,
      proxyStatusMember: this.members.get(pool.name)!,
      timeouts: route.timeouts,
    });
    const closed = await tunnel.open();
    ctx.attempts.push({
      endpoint: endpoint.address,
      reused: false,
      durationMs: 0,
      status: 101,
      error: null,
      connect: null,
      ttfbMs: null,
    });
    await closed;
  }

  /** The origin confirmed a stored copy (304): it is refreshed with the 304's headers and answers. */
  private revalidated(ctx: RequestCtx, cache: ResponseCache, r: NonNullable<CachePlan['revalidate']>, headers: Record<string, string | string[] | undefined>, pool: string): void {
    const { policy, modified } = r.entry.policy.revalidatedPolicy(
      { method: 'GET', url: r.request.url, headers: r.request.headers },
      { status: 304, headers: joined(headers) },
    );
    if (modified) {
      cache.invalidate(r.key);
      failToProxy(ctx, revalidationMismatch(pool), this.fail);
      return;
    }
    const entry = { ...r.entry, policy };
    cache.store(r.key, entry);
    ctx.cache = { result: 'revalidated' };
    serveStored(ctx, entry, { kind: 'revalidated' }, this.deps.config.name);
  }

  /** A stored copy answers for a failed origin: counted as a masked failure, logged as stale. */
  private standIn(ctx: RequestCtx, entry: CacheEntry, because: string, receivedStatus: number | null, proxyStatus: string): void {
    ctx.cache = { result: 'stale', because };
    serveStored(ctx, entry, { kind: 'stale', proxyStatus, receivedStatus }, this.deps.config.name);
    publishMasked({ pool: ctx.route!.upstream, kind: 'stale_cache', detail: `route ${ctx.route!.name}: a stored copy answered for ${because}` });
  }

  /** Answers directly, before routing, the requests that must never reach an origin. */
  private requestFilter(head: UpstreamRequestHead): ProxyError | null {
    const limit = this.deps.config.limits.maxRequestBodyBytes;
    const length = head.contentLength ?? 0;
    if (limit !== null && length > limit) return bodyTooLarge({ announced: length }, limit);
    if (head.loop) {
      return new ProxyError({
        type: 'proxy_loop_detected',
        detail: 'via_contains_own_name',
        message: `the request already passed through "${this.deps.config.name}" (Via: it came back to this gateway); give every gateway in a chain its own name`,
        source: 'internal',
        origin: 'local',
        stage: 'route',
        retry: 'no',
      });
    }
    return null;
  }
}

