// The parts of prom-client the metrics use, each loaded from its own file. prom-client's
// index also loads its Pushgateway, which requires node:https and node:zlib (and with them
// node:tls): several MB resident in a gateway that never pushes. prom-client has no
// "exports" map, so its files can be required; test/startup-modules.test.ts checks that
// each part is the index's own, and that a started gateway leaves the index unloaded.
import { createRequire } from 'node:module';
import type * as Prom from 'prom-client';

const load = createRequire(import.meta.url);

export const Registry = load('prom-client/lib/registry.js') as typeof Prom.Registry;
export type Registry = Prom.Registry;
export const Counter = load('prom-client/lib/counter.js') as typeof Prom.Counter;
export type Counter<T extends string = string> = Prom.Counter<T>;
export const Gauge = load('prom-client/lib/gauge.js') as typeof Prom.Gauge;
export type Gauge<T extends string = string> = Prom.Gauge<T>;
export const collectDefaultMetrics = load('prom-client/lib/defaultMetrics.js') as typeof Prom.collectDefaultMetrics;
