import type { Metric, Registry } from 'prom-client';

// Counters and histograms for the request path. prom-client's inc() and observe() validate
// and hash their label object on every call, a few microseconds per request in the bench's
// profile; here each label set is resolved once into a cell the request path increments
// directly. The registry still serializes them, through the same get() contract its own
// metrics follow, so /metrics is one exposition from one registry.

type Value = { value: number; labels: Record<string, string | number>; metricName?: string };
type MetricData = { name: string; help: string; type: 'counter' | 'histogram'; values: Value[]; aggregator: 'sum' };

export type CounterCell = { readonly labels: Readonly<Record<string, string>>; value: number };

export type HistogramCell = {
  readonly labels: Readonly<Record<string, string>>;
  /** Observations per bucket (not cumulative); the last one is above every bound. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
};

abstract class Family<C> {
  readonly name: string;
  readonly help: string;
  readonly aggregator = 'sum' as const;
  protected readonly labelNames: readonly string[];
  protected readonly cells = new Map<string, C>();
  private lastA = '';
  private lastB = '';
  private lastC = '';
  private last: C | null = null;

  constructor(o: { name: string; help: string; labelNames: readonly string[]; registry: Registry }) {
    this.name = o.name;
    this.help = o.help;
    if (o.labelNames.length > 3) throw new Error(`${o.name}: at most 3 labels`);
    this.labelNames = o.labelNames;
    o.registry.registerMetric(this as unknown as Metric);
  }

  /** The cell of one label set, in labelNames order; made on first use. */
  cell(a: string, b = '', c = ''): C {
    // Most requests land in the cell the previous one did.
    if (a === this.lastA && b === this.lastB && c === this.lastC && this.last !== null) return this.last;
    const key = `${a}\u0000${b}\u0000${c}`;
    let cell = this.cells.get(key);
    if (cell === undefined) {
      const values = [a, b, c];
      const labels: Record<string, string> = {};
      this.labelNames.forEach((n, i) => {
        labels[n] = values[i]!;
      });
      cell = this.make(labels);
      this.cells.set(key, cell);
    }
    this.lastA = a;
    this.lastB = b;
    this.lastC = c;
    this.last = cell;
    return cell;
  }

  reset(): void {
    this.cells.clear();
    this.last = null;
  }

  protected abstract make(labels: Record<string, string>): C;
}

export class CounterFamily extends Family<CounterCell> {
  readonly type = 'counter' as const;

  protected make(labels: Record<string, string>): CounterCell {
    return { labels, value: 0 };
  }

  get(): MetricData {
    const values = [...this.cells.values()].map((c) => ({ value: c.value, labels: c.labels }));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

export class HistogramFamily extends Family<HistogramCell> {
  readonly type = 'histogram' as const;
  private readonly bounds: readonly number[];

  constructor(o: { name: string; help: string; labelNames: readonly string[]; buckets: readonly number[]; registry: Registry }) {
    super(o);
    this.bounds = [...o.buckets].sort((a, b) => a - b);
  }

  protected make(labels: Record<string, string>): HistogramCell {
    return { labels, counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
  }

  observe(c: HistogramCell, v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    c.counts[i]!++;
    c.sum += v;
    c.count++;
  }

  get(): MetricData {
    const values: Value[] = [];
    for (const c of this.cells.values()) {
      let acc = 0;
      this.bounds.forEach((le, i) => {
        acc += c.counts[i]!;
        values.push({ value: acc, labels: { le, ...c.labels }, metricName: `${this.name}_bucket` });
      });
      values.push({ value: c.count, labels: { le: '+Inf', ...c.labels }, metricName: `${this.name}_bucket` });
      values.push({ value: c.sum, labels: c.labels, metricName: `${this.name}_sum` });
      values.push({ value: c.count, labels: c.labels, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
