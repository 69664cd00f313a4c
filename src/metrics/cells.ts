/**
 * Counters and histograms for metrics touched on every request. prom-client validates and hashes the label object
 * on each `inc`/`observe` (several microseconds); here a label set leads to its cell through maps keyed by the
 * label values themselves, and the caller only adds numbers. prom-client's registry still renders them: each class
 * has the `get`/`getForPromString` members it reads, producing the same lines its own Counter and Histogram would.
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

/** A label value as callers hold it (an HTTP status may stay a number). */
type LabelValue = string | number;

const pick = (i: number, a: LabelValue, b: LabelValue, c: LabelValue) => (i === 0 ? a : i === 1 ? b : c);

abstract class Cells<C> {
  /** Cells in creation order, for rendering; lookups go through `index`. */
  private readonly cells: { labels: Labels; cell: C }[] = [];
  /** One map level per label, keyed by the caller's own values: no key string is built per lookup. */
  private index = new Map<LabelValue, unknown>();

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

  /** The cell of these label values, in label-name order (up to three labels). */
  cell(a: LabelValue, b: LabelValue = "", c: LabelValue = ""): C {
    let level = this.index;
    const last = this.labelNames.length - 1;
    for (let i = 0; i < last; i++) {
      let next = level.get(pick(i, a, b, c)) as Map<LabelValue, unknown> | undefined;
      if (!next) {
        next = new Map();
        level.set(pick(i, a, b, c), next);
      }
      level = next;
    }
    let hit = level.get(pick(last, a, b, c)) as C | undefined;
    if (hit === undefined) {
      const labels: Labels = {};
      this.labelNames.forEach((name, i) => {
        labels[name] = String(pick(i, a, b, c));
      });
      hit = this.create();
      this.cells.push({ labels, cell: hit });
      level.set(pick(last, a, b, c), hit);
    }
    return hit;
  }

  getForPromString(): MetricData {
    const values: Value[] = [];
    for (const { labels, cell } of this.cells) values.push(...this.render(labels, cell));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: "sum" };
  }

  /** The JSON form (registry.getMetricsAsJSON): shared labels merged in, as prom-client does. */
  get(): MetricData {
    const data = this.getForPromString();
    data.values = data.values.map(({ sharedLabels, labels, ...rest }) => ({
      ...rest,
      labels: { ...labels, ...sharedLabels },
    }));
    return data;
  }

  reset(): void {
    this.cells.length = 0;
    this.index = new Map();
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
  counts: Float64Array;
  sum: number;
  count: number;
}

export class CellHistogram extends Cells<HistogramCell> {
  readonly type = "histogram";

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    registry: Registry,
    bounds: readonly number[],
  ) {
    super(name, help, labelNames, registry);
    this.edges = Float64Array.from(bounds);
  }

  /**
   * The bucket bounds as doubles: histograms with whole-number bounds and with fractional ones share `observe`, and
   * plain arrays of both kinds made its optimized code exit on every switch between them.
   */
  private readonly edges: Float64Array;

  protected create(): HistogramCell {
    return { counts: new Float64Array(this.edges.length + 1), sum: 0, count: 0 };
  }

  observe(cell: HistogramCell, value: number): void {
    const edges = this.edges;
    let i = 0;
    while (i < edges.length && value > (edges[i] as number)) i++;
    (cell.counts[i] as number)++;
    cell.sum += value;
    cell.count++;
  }

  protected render(labels: Labels, cell: HistogramCell): Value[] {
    const bucket = `${this.name}_bucket`;
    let acc = 0;
    const out: Value[] = Array.from(this.edges, (le, i) => {
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
