// The parts of undici the gateway's upstream side uses, each loaded from its own file.
// undici's index loads all of undici (fetch, WebSocket, the cache, mocks): ~20 MB resident
// and ~50 ms at start, for a gateway that uses three of its parts (+9 MB with these alone,
// measured in bare node; the Pool only with its first use). undici has no "exports" map, so
// its files can be required; a moved file fails test/undici-parts.test.ts, which checks each
// part is the index's own, and test/startup-modules.test.ts that the index stays unloaded.
import { createRequire } from 'node:module';
import type * as Undici from 'undici';

const load = createRequire(import.meta.url);

/** How undici's connector is called, and the options it is built with. */
export type Connector = Undici.buildConnector.connector;
export type ConnectOptions = Undici.buildConnector.Options;
export type ConnectorBuildOptions = Undici.buildConnector.BuildOptions;

/** Opens a TCP or TLS connection (Happy Eyeballs, TLS session reuse), for both pools. */
export const buildConnector = load('undici/lib/core/connect.js') as typeof Undici.buildConnector;
/** undici's error classes: the gateway's own pool raises the same ones, so one classifier reads both. */
export const errors = load('undici/lib/core/errors.js') as typeof Undici.errors;
/**
 * undici's pool, for active health checks and upgrades (requests use h1/pool.ts). Loaded
 * when first needed (lazy-dispatcher.ts): its Client requires node:http2 as it loads.
 */
export function loadPool(): typeof Undici.Pool {
  return load('undici/lib/dispatcher/pool.js') as typeof Undici.Pool;
}
