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

/**
 * prom-client's default metrics (collectDefaultMetrics), each from its own file, all but its
 * process CPU counters (processCpuTotal.js), which require OpenTelemetry's API, 51 modules,
 * for exemplars the gateway does not turn on: ~1.3 MB more resident at start (measured).
 * process-cpu.ts has those three counters instead. test/startup-modules.test.ts checks that
 * the two together register exactly what collectDefaultMetrics does.
 */
const DEFAULT_METRICS_BUT_CPU = [
  'processStartTime',
  'osMemoryHeap',
  'processOpenFileDescriptors',
  'processMaxFileDescriptors',
  'eventLoopLag',
  // As prom-client: only where Node has process.getActiveResourcesInfo.
  ...(typeof process.getActiveResourcesInfo === 'function' ? ['processResources'] : []),
  'processHandles',
  'processRequests',
  'heapSizeAndUsed',
  'heapSpacesSizeAndUsed',
  'version',
  'gc',
];

type DefaultMetric = (registry: Registry, config: { eventLoopMonitoringPrecision: number }) => void;

export function collectDefaultMetricsButCpu(registry: Registry): void {
  // prom-client's own default precision.
  const config = { eventLoopMonitoringPrecision: 10 };
  for (const name of DEFAULT_METRICS_BUT_CPU) (load(`prom-client/lib/metrics/${name}.js`) as DefaultMetric)(registry, config);
}
