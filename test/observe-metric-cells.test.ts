// The request path's counters and histograms must expose exactly what prom-client's own
// would for the same observations: compared line by line, one registry each.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { CounterFamily, HistogramFamily } from '../src/observe/metric-cells.ts';

const BUCKETS = [0.005, 0.01, 0.1, 1, 5];
// On a bound, between bounds, above every bound, zero, and label values that need escaping.
const SAMPLES: [string, string, number][] = [
  ['a', 'x', 0.005],
  ['a', 'x', 0.0051],
  ['a', 'y', 7],
  ['b"q\\', 'x\ny', 0],
  ['a', 'x', 1],
  ['a', 'x', 0.3],
];

test('cells expose the same text as prom-client counters and histograms', async () => {
  const ours = new Registry();
  const theirs = new Registry();
  const c1 = new CounterFamily({ name: 'c_total', help: 'h', labelNames: ['p', 'q'], registry: ours });
  const h1 = new HistogramFamily({ name: 'h_seconds', help: 'h', labelNames: ['p', 'q'], buckets: BUCKETS, registry: ours });
  const c2 = new Counter({ name: 'c_total', help: 'h', labelNames: ['p', 'q'], registers: [theirs] });
  const h2 = new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['p', 'q'], buckets: BUCKETS, registers: [theirs] });
  for (const [p, q, v] of SAMPLES) {
    c1.cell(p, q).value++;
    h1.observe(h1.cell(p, q), v);
    c2.inc({ p, q });
    h2.observe({ p, q }, v);
  }
  const sorted = (s: string) => s.split('\n').sort();
  assert.deepEqual(sorted(await ours.metrics()), sorted(await theirs.metrics()));
  assert.match(await ours.metrics(), /h_seconds_bucket\{le="0.005",p="a",q="x"\} 1\n/);
  assert.match(await ours.metrics(), /c_total\{p="a",q="x"\} 4\n/);
});
