import type { AddressInfo } from 'node:net';
import type { Config } from './config/schema.ts';
import { type CustomPages, loadCustomPages } from './errors/error-page.ts';
import { type LoggerOverrides, type Loggers, createLoggers } from './observe/logger.ts';
import { Observability } from './observe/observability.ts';
import { Pipeline } from './proxy/pipeline.ts';
import { Router } from './routing/router.ts';
import { ResponseCache } from './cache/store.ts';
import { type Listener, createListener, listen } from './server/listener.ts';
import { type UpstreamPool, buildPools } from './upstream/pool.ts';

export type RunningGateway = {
  /** The configuration in force (it changes on reload). */
  readonly config: Config;
  readonly addresses: AddressInfo[];
  /** http://host:port of the first listener. */
  readonly url: string;
  readonly pools: ReadonlyMap<string, UpstreamPool>;
  readonly loggers: Loggers;
  /** Metrics, status and dashboard (observe.admin), synthetic checks (observe.synthetic), alerts (observe.alerter). */
  readonly observe: Observability;
  /**
   * Applies a new configuration without dropping a request: routes, upstreams, timeouts,
   * retries, health, limits, maintenance mode, error pages and forwarding take effect for
   * new requests; requests in flight finish on the old pools, which then close. Listen
   * addresses, client limits, logs and the admin listener need a restart (returned as warnings).
   */
  reload(next: Config): Promise<string[]>;
  /** Graceful stop: no new connections, in-flight requests get up to graceMs, then everything closes. */
  stop(graceMs?: number): Promise<void>;
};

const RESTART_ONLY = ['listen', 'client', 'log', 'admin', 'shutdown', 'synthetic', 'alerts', 'cache'] as const;

export async function startGateway(config: Config, overrides: LoggerOverrides = {}): Promise<RunningGateway> {
  const loggers = createLoggers(config.log, overrides);
  const pages: CustomPages | undefined =
    Object.keys(config.errorPages.pages).length > 0 ? await loadCustomPages(config.errorPages.pages) : undefined;
  const pools: Map<string, UpstreamPool> = buildPools(config, loggers.events);
  // Subscribed before the first request can arrive, so every request is counted.
  const observe = new Observability({ config, pools, events: loggers.events });
  let current = config;
  // One store for the process: a reload keeps what is cached (its size is read at start).
  let cache: ResponseCache | null = null;
  const cacheFor = (c: Config): ResponseCache | null => {
    if (c.routes.some((r) => r.cache !== null)) cache ??= new ResponseCache(config.cache.maxSizeBytes);
    return cache;
  };
  let pipeline = new Pipeline({
    cache: cacheFor(config),
    config,
    router: new Router(config.routes),
    pools,
    accessLog: loggers.accessOutput,
    events: loggers.events,
    pages,
  });
  /** Pipelines replaced by a reload that still have requests in flight. */
  const retired = new Set<Pipeline>();
  const inflight = (): number => pipeline.inflight + [...retired].reduce((n, p) => n + p.inflight, 0);
  const handlers = {
    handle: (req: Parameters<Pipeline['handle']>[0], res: Parameters<Pipeline['handle']>[1]) => pipeline.handle(req, res),
    handleUpgrade: (...a: Parameters<Pipeline['handleUpgrade']>) => pipeline.handleUpgrade(...a),
  };
  const servers: Listener[] = [];
  const addresses: AddressInfo[] = [];
  try {
    for (const l of config.listen) {
      const server = createListener(config, l, handlers, loggers.accessOutput);
      servers.push(server);
      addresses.push(await listen(server.server, l.host, l.port));
    }
  } catch (err) {
    for (const s of servers) s.server.close();
    await Promise.all([...pools.values()].map((p) => p.destroy()));
    await observe.stop();
    throw err;
  }
  // The gateway's own URL (tests, the synthetic checks): its first listener in clear, if any.
  const plain = config.listen.findIndex((l) => l.tls === null);
  const first = addresses[Math.max(0, plain)]!;
  const scheme = plain === -1 ? 'https' : 'http';
  const url = `${scheme}://${first.family === 'IPv6' ? `[${first.address}]` : first.address}:${first.port}`;
  try {
    await observe.start(url, addresses.map((a) => `${a.address}:${a.port}`));
  } catch (err) {
    for (const s of servers) s.server.close();
    await Promise.all([...pools.values()].map((p) => p.destroy()));
    await observe.stop();
    throw err;
  }
  loggers.events.info({ listen: addresses.map((a) => `${a.address}:${a.port}`) }, 'gatewise started');

  let stopping: Promise<void> | null = null;
  const stop = (graceMs = config.shutdown.graceMs): Promise<void> => {
    stopping ??= (async () => {
      loggers.events.info({ inflight: inflight(), graceMs }, 'gatewise stopping');
      // Probes and the admin listener stop first; alerts still on their way drain meanwhile.
      const observed = observe.stop();
      const closed = Promise.all(servers.map((s) => new Promise<void>((r) => s.server.close(() => r()))));
      for (const s of servers) s.closeIdle();
      const deadline = Date.now() + graceMs;
      while (inflight() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      const abandoned = inflight();
      for (const s of servers) s.closeAll();
      await closed;
      await Promise.all([...pools.values()].map((p) => p.destroy()));
      await observed;
      loggers.events.info({ abandoned }, 'gatewise stopped');
      await loggers.close();
    })();
    return stopping;
  };
  const reload = async (next: Config): Promise<string[]> => {
    const warnings = RESTART_ONLY.filter((k) => JSON.stringify(next[k]) !== JSON.stringify(current[k])).map(
      (k) => `${k}: changes to this section need a restart; the running values stay`,
    );
    // Certificates are read again, so a renewed one is served without a restart.
    if (JSON.stringify(next.listen) === JSON.stringify(current.listen)) {
      next.listen.forEach((l, i) => {
        const problem = servers[i]!.renewCertificate(l);
        if (problem) warnings.push(problem);
      });
    }
    const nextPages = Object.keys(next.errorPages.pages).length > 0 ? await loadCustomPages(next.errorPages.pages) : undefined;
    const old = [...pools.values()];
    const nextPools = buildPools(next, loggers.events);
    // The same Map object: observability and status keep reading the live pools.
    pools.clear();
    for (const [k, v] of nextPools) pools.set(k, v);
    const previous = pipeline;
    pipeline = new Pipeline({
      config: next,
      router: new Router(next.routes),
      pools,
      accessLog: loggers.accessOutput,
      events: loggers.events,
      pages: nextPages,
      cache: cacheFor(next),
    });
    current = next;
    retired.add(previous);
    void (async () => {
      while (previous.inflight > 0) await new Promise((r) => setTimeout(r, 50));
      retired.delete(previous);
      await Promise.all(old.map((p) => p.close()));
    })();
    loggers.events.info({ routes: next.routes.length, upstreams: Object.keys(next.upstreams).length, warnings }, 'configuration reloaded');
    return warnings;
  };
  return {
    get config() {
      return current;
    },
    addresses,
    url,
    pools,
    loggers,
    observe,
    reload,
    stop,
  };
}
