import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Config, Route } from '../config/schema.ts';
import { classifyClientError, classifyInternalError } from '../errors/classify.ts';
import type { CustomPages } from '../errors/error-page.ts';
import { ProxyError } from '../errors/proxy-error.ts';
import { formatProxyStatusMember } from '../errors/proxy-status.ts';
import { loggedStatus, logRequest } from '../observe/access-log.ts';
import { type AttemptEndEvent, channels, type RequestEndEvent } from '../observe/events.ts';
import type { Router } from '../routing/router.ts';
import { type RequestCtx, newCtx } from '../server/request-ctx.ts';
import type { UpstreamPool } from '../upstream/pool.ts';
import { Attempt } from './attempt.ts';
import { type FailOptions, failToProxy } from './fail-to-proxy.ts';
import { type ForwardingPolicy, type UpstreamRequestHead, trustedProxies, upstreamRequestHead } from './headers.ts';
import { bodyForAttempt, type RequestBody, replayable, requestBody } from './request-body.ts';
import { isIdempotent, mayRetry } from './retry.ts';
import { Tunnel, responseOnSocket } from './upgrade.ts';

export type PipelineDeps = {
  readonly config: Config;
  readonly router: Router;
  readonly pools: ReadonlyMap<string, UpstreamPool>;
  readonly accessLog: Logger;
  readonly events: Logger;
  readonly pages: CustomPages | undefined;
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
  /** Requests being served: graceful stop waits for them. */
  inflight = 0;

  constructor(deps: PipelineDeps) {
    this.deps = deps;
    const { config } = deps;
    this.policy = {
      xForwarded: config.forwarded.xForwarded,
      forwarded: config.forwarded.forwarded,
      trusted: trustedProxies(config.forwarded.trustedProxies),
    };
    this.fail = { name: config.name, exposeInternals: config.errorPages.exposeInternals, pages: deps.pages };
    for (const pool of deps.pools.values()) {
      this.members.set(pool.name, formatProxyStatusMember({ name: config.name, nextHop: pool.name }));
    }
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const ctx = newCtx(req, res);
    this.inflight++;
    this.run(ctx)
      .catch((err: unknown) => {
        const e = classifyInternalError(err, 'the request pipeline');
        this.deps.events.error({ err, reqId: ctx.requestId }, e.message);
        try {
          failToProxy(ctx, e, this.fail);
        } catch {
          res.destroy();
        }
      })
      .finally(() => this.end(ctx));
  };

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
    const pool = this.deps.pools.get(route.upstream)!;

    let current: Attempt | null = null;
    const onClose = (): void => {
      if (res.writableFinished) return;
      ctx.clientGone = true;
      current?.abort(clientGone());
    };
    res.once('close', onClose);
    const deadline = setTimeout(() => current?.abort(totalTimeout(route)), route.timeouts.totalMs);
    try {
      await this.attemptLoop(ctx, route, pool, head, (a) => {
        current = a;
      });
    } catch (err) {
      failToProxy(ctx, err instanceof ProxyError ? err : classifyInternalError(err, 'the attempt loop'), this.fail);
    } finally {
      clearTimeout(deadline);
      res.off('close', onClose);
    }
  }

  /** Upgrade (WebSocket) requests: same phases, then a byte tunnel instead of a response. */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
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
    const endpoint = pool.pick(null);
    if (!endpoint) throw noEndpoint(pool);
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

  /** Answers directly, before routing, the requests that must never reach an origin. */
  private requestFilter(head: UpstreamRequestHead): ProxyError | null {
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

  private async attemptLoop(
    ctx: RequestCtx,
    route: Route,
    pool: UpstreamPool,
    head: UpstreamRequestHead,
    track: (a: Attempt) => void,
  ): Promise<void> {
    const { req } = ctx;
    const method = req.method ?? 'GET';
    let body: RequestBody;
    try {
      body = await requestBody(req, pool.config.retry.bufferBodyBytes);
    } catch (err) {
      throw classifyClientError(err);
    }
    const repeatable = isIdempotent(method) || (route.retryWithIdempotencyKey && req.headers['idempotency-key'] !== undefined);
    const path = upstreamPath(route, req.url ?? '/');
    const tried = new Set<UpstreamPool['endpoints'][number]>();
    const maxTries = pool.config.retry.tries;
    let last: ProxyError | null = null;
    for (let n = 1; n <= maxTries; n++) {
      const endpoint = pool.pick(tried) ?? pool.pick(null);
      if (!endpoint) break;
      tried.add(endpoint);
      const attempt = new Attempt({
        ctx,
        endpoint,
        attempt: n,
        method,
        path,
        headers: head.headers,
        body: bodyForAttempt(body),
        timeouts: route.timeouts,
        name: this.deps.config.name,
        proxyStatusMember: this.members.get(pool.name)!,
      });
      track(attempt);
      try {
        await attempt.start();
        ctx.attempts.push(record(attempt, null));
        publishAttempt(attempt, null, false);
        return;
      } catch (err) {
        const e = err as ProxyError;
        ctx.attempts.push(record(attempt, e));
        last = e;
        const retry = !ctx.clientGone && n < maxTries && mayRetry(e, { repeatable, bodyReplayable: replayable(body), committed: ctx.res.headersSent });
        publishAttempt(attempt, e, retry);
        if (!retry) throw e;
      }
    }
    throw last ?? noEndpoint(pool);
  }
}

function publishAttempt(a: Attempt, e: ProxyError | null, retried: boolean): void {
  if (!channels.attemptEnd.hasSubscribers) return;
  channels.attemptEnd.publish({
    pool: a.input.endpoint.pool,
    endpoint: a.input.endpoint.address,
    attempt: a.input.attempt,
    durationMs: a.durationMs(),
    status: a.status,
    errorType: e?.type ?? null,
    retried,
  } satisfies AttemptEndEvent);
}

function record(a: Attempt, e: ProxyError | null): RequestCtx['attempts'][number] {
  return {
    endpoint: a.input.endpoint.address,
    reused: a.facts.reused,
    durationMs: Math.round(a.durationMs() * 100) / 100,
    status: a.status,
    error: e ? { type: e.type, detail: e.detail } : null,
    connect: a.facts.timings,
    ttfbMs: a.ttfbMs === null ? null : Math.round(a.ttfbMs * 100) / 100,
  };
}

function upstreamPath(route: Route, url: string): string {
  if (!route.stripPrefix || route.pathPrefix === '/') return url;
  const rest = url.slice(route.pathPrefix.length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

function noRoute(host: string, url: string): ProxyError {
  return new ProxyError({
    type: 'destination_not_found',
    detail: 'no_route',
    message: `no route matches host "${host}" and path "${url.split('?')[0]}"`,
    source: 'internal',
    origin: 'local',
    stage: 'route',
    retry: 'no',
    // A path the gateway does not serve is the client's 404, as in Envoy (NR) and nginx.
    status: 404,
  });
}

function noEndpoint(pool: UpstreamPool): ProxyError {
  return new ProxyError({
    type: 'destination_unavailable',
    detail: 'no_endpoint',
    message: `upstream "${pool.name}" has no endpoint to try`,
    source: 'internal',
    origin: 'local',
    stage: 'connect',
    retry: 'no',
  });
}

function clientGone(): ProxyError {
  return new ProxyError({
    type: 'http_request_error',
    detail: 'client_closed',
    message: 'the client closed the connection before the response was complete',
    source: 'downstream',
    origin: 'local',
    stage: 'body',
    retry: 'no',
    status: 499,
  });
}

function totalTimeout(route: Route): ProxyError {
  return new ProxyError({
    type: 'http_response_timeout',
    detail: 'total_timeout',
    message: `the request did not complete within the total timeout of ${route.timeouts.totalMs} ms (route "${route.name}")`,
    source: 'upstream',
    origin: 'local',
    stage: 'body',
    retry: 'no',
  });
}
