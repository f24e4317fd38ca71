import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config/schema.ts';
import { type CustomPages, loadCustomPages } from './errors/error-page.ts';
import { type LoggerOverrides, type Loggers, createLoggers } from './observe/logger.ts';
import { Observability } from './observe/observability.ts';
import { Pipeline } from './proxy/pipeline.ts';
import { Router } from './routing/router.ts';
import { createListener, listen } from './server/listener.ts';
import { type UpstreamPool, buildPools } from './upstream/pool.ts';

export type RunningGateway = {
  readonly config: Config;
  readonly addresses: AddressInfo[];
  /** http://host:port of the first listener. */
  readonly url: string;
  readonly pools: ReadonlyMap<string, UpstreamPool>;
  readonly loggers: Loggers;
  /** Metrics, status and dashboard (observe.admin), synthetic checks (observe.synthetic), alerts (observe.alerter). */
  readonly observe: Observability;
  /** Graceful stop: no new connections, in-flight requests get up to graceMs, then everything closes. */
  stop(graceMs?: number): Promise<void>;
};

export async function startGateway(config: Config, overrides: LoggerOverrides = {}): Promise<RunningGateway> {
  const loggers = createLoggers(config.log, overrides);
  const pages: CustomPages | undefined =
    Object.keys(config.errorPages.pages).length > 0 ? await loadCustomPages(config.errorPages.pages) : undefined;
  const pools = buildPools(config, loggers.events);
  // Subscribed before the first request can arrive, so every request is counted.
  const observe = new Observability({ config, pools, events: loggers.events });
  const pipeline = new Pipeline({
    config,
    router: new Router(config.routes),
    pools,
    accessLog: loggers.access,
    events: loggers.events,
    pages,
  });
  const servers: Server[] = [];
  const addresses: AddressInfo[] = [];
  try {
    for (const l of config.listen) {
      const server = createListener(config, pipeline, loggers.access);
      servers.push(server);
      addresses.push(await listen(server, l.host, l.port));
    }
  } catch (err) {
    for (const s of servers) s.close();
    await Promise.all([...pools.values()].map((p) => p.destroy()));
    await observe.stop();
    throw err;
  }
  const first = addresses[0]!;
  const url = `http://${first.family === 'IPv6' ? `[${first.address}]` : first.address}:${first.port}`;
  try {
    await observe.start(url, addresses.map((a) => `${a.address}:${a.port}`));
  } catch (err) {
    for (const s of servers) s.close();
    await Promise.all([...pools.values()].map((p) => p.destroy()));
    await observe.stop();
    throw err;
  }
  loggers.events.info({ listen: addresses.map((a) => `${a.address}:${a.port}`) }, 'gatewise started');

  let stopping: Promise<void> | null = null;
  const stop = (graceMs = config.shutdown.graceMs): Promise<void> => {
    stopping ??= (async () => {
      loggers.events.info({ inflight: pipeline.inflight, graceMs }, 'gatewise stopping');
      // Probes and the admin listener stop first; alerts still on their way drain meanwhile.
      const observed = observe.stop();
      const closed = Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
      for (const s of servers) s.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      while (pipeline.inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      const abandoned = pipeline.inflight;
      for (const s of servers) s.closeAllConnections();
      await closed;
      await Promise.all([...pools.values()].map((p) => p.destroy()));
      await observed;
      loggers.events.info({ abandoned }, 'gatewise stopped');
      await loggers.flush();
    })();
    return stopping;
  };
  return { config, addresses, url, pools, loggers, observe, stop };
}
