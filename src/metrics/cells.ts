/**
 * Counters and histograms for metrics touched on every request. prom-client validates and hashes the label object
 * on each `inc`/`observe` (several microseconds); here a caller resolves a label set to a cell once, keyed by a
 * string it already has, and then only adds numbers. prom-client's registry still renders them: each class has the
 * `get`/`getForPromString` members it reads, producing the same lines its own Counter and Histogram would.
 */
import type { Metric, Registry } from "prom-client";

type Labels = Record<string, string>;

interface Value {
  /** `le` is a number, as prom-client keeps it (its JSON form shows it so). */
  labels: Record<string, string | number>;
  sharedLabels?: Labels;
  value: number;
  metricName?: string;
}

interface MetricData {
  name: string;
  help: string;
  type: "counter" | "histogram";
  values: Value[];
  aggregator: "sum";
}

abstract class Cells<C> {
  private readonly cells = new Map<string, { labels: Labels; cell: C }>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  protected abstract create(): C;
  protected abstract render(labels: Labels, cell: C): Value[];
  abstract readonly type: MetricData["type"];

  /** The cell for `key`; `values` (in label-name order) are read only the first time the key is seen. */
  cell(key: string, values: () => readonly string[]): C {
    let hit = this.cells.get(key);
    if (!hit) {
      const v = values();
      const labels: Labels = {};
      this.labelNames.forEach((name, i) => {
        labels[name] = v[i] ?? "";
      });
      hit = { labels, cell: this.create() };
      this.cells.set(key, hit);
    }
    return hit.cell;
  }

  getForPromString(): MetricData {
    const values: Value[] = [];
    for (const { labels, cell } of this.cells.values()) values.push(...this.render(labels, cell));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: "sum" };
  }

  /** The JSON form (registry.getMetricsAsJSON): shared labels merged in, as prom-client does. */
  get(): MetricData {
    const data = this.getForPromString();
    data.values = data.values.map(({ sharedLabels, labels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } }));
    return data;
  }

  reset(): void {
    this.cells.clear();
  }
}

export interface CounterCell {
  value: number;
}

export class CellCounter extends Cells<CounterCell> {
  readonly type = "counter";
  protected create(): CounterCell {
    return { value: 0 };
  }
  protected render(labels: Labels, cell: CounterCell): Value[] {
    return [{ labels, value: cell.value }];
  }
}

export interface HistogramCell {
  /** Per bucket (not cumulative); the last slot counts values above every bound. */
  counts: number[];
  sum: number;
  count: number;
}

export class CellHistogram extends Cells<HistogramCell> {
  readonly type = "histogram";

  constructor(name: string, help: string, labelNames: readonly string[], registry: Registry, private readonly bounds: readonly number[]) {
    super(name, help, labelNames, registry);
  }

  protected create(): HistogramCell {
    return { counts: new Array(this.bounds.length + 1).fill(0), sum: 0, count: 0 };
  }

  observe(cell: HistogramCell, value: number): void {
    let i = 0;
    while (i < this.bounds.length && value > (this.bounds[i] as number)) i++;
    (cell.counts[i] as number)++;
    cell.sum += value;
    cell.count++;
  }

  protected render(labels: Labels, cell: HistogramCell): Value[] {
    const bucket = `${this.name}_bucket`;
    let acc = 0;
    const out: Value[] = this.bounds.map((le, i) => {
      acc += cell.counts[i] as number;
      return { labels: { le }, sharedLabels: labels, value: acc, metricName: bucket };
    });
    out.push(
      { labels: { le: "+Inf" }, sharedLabels: labels, value: cell.count, metricName: bucket },
      { labels: {}, sharedLabels: labels, value: cell.sum, metricName: `${this.name}_sum` },
      { labels: {}, sharedLabels: labels, value: cell.count, metricName: `${this.name}_count` },
    );
    return out;
  }
}

/** A two-level map (a, b) -> value, created on first use: lookups hash only strings the caller already has. */
export class PairMap<V> {
  private readonly outer = new Map<string, Map<string, V>>();

  get(a: string, b: string, create: () => V): V {
    let inner = this.outer.get(a);
    if (!inner) {
      inner = new Map();
      this.outer.set(a, inner);
    }
    let value = inner.get(b);
    if (value === undefined) {
      value = create();
      inner.set(b, value);
    }
    return value;
  }
}
