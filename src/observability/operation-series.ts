// prism_driver_operation_duration_seconds and prism_driver_operations_total, recorded without per-call label work.
//
// prom-client's Histogram.observe and Counter.inc validate, hash and look up their label object on
// every call: measured at 0.8–2.7 µs for the pair, more than the guarded call's breaker and
// bulkhead together (bench/cases/resilience.ts). A guard has a handful of label sets, known after
// its first call of each operation, so each set gets one plain record: a call finds it through
// nested maps and adds to three numbers. The records become prom-client series only when the
// registry is read, in exactly the shape (names, labels, buckets) prom-client's own Histogram and
// Counter produce, so /metrics and its consumers see no difference.
import type { Metric, Registry } from 'prom-client';
import type { OperationLabels, OperationStatus } from '../resilience/metrics';

type SeriesLabel = keyof OperationLabels | 'status';
type SeriesLabels = Record<SeriesLabel, string>;

/** One exported value, as prom-client's `get()` reports it. */
export interface SeriesValue<L extends string> {
  labels: Partial<Record<L, string | number>>;
  value: number;
  metricName?: string;
}

/** What prom-client's Registry reads from a metric (`get`, `reset`, the header fields). */
export interface ReadableMetric<L extends string> {
  name: string;
  readonly help: string;
  readonly type: 'histogram' | 'counter';
  readonly aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: string; aggregator: 'sum'; values: SeriesValue<L>[] }>;
  reset(): void;
}

interface Series {
  readonly labels: SeriesLabels;
  count: number;
  sum: number;
  /** Observations per upper bound, not cumulative; values above the last bound only count in `count`. */
  readonly buckets: number[];
}

export interface OperationSeriesOptions {
  registry: Registry;
  /** Upper bounds of the duration histogram, ascending, in seconds. */
  buckets: readonly number[];
  duration: { name: string; help: string };
  total: { name: string; help: string };
}

/** The duration histogram and the call counter of driver operations, fed by {@link observe}. */
export class OperationSeries {
  readonly duration: ReadableMetric<SeriesLabel | 'le'>;
  readonly total: ReadableMetric<SeriesLabel>;
  private readonly bounds: readonly number[];
  /** backend → driver → operation → status → series */
  private byBackend = new Map<string, Map<string, Map<string, Map<OperationStatus, Series>>>>();

  constructor(options: OperationSeriesOptions) {
    const bounds = options.buckets;
    if (bounds.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= bounds[i - 1])))
      throw new RangeError(`histogram buckets must be finite and ascending, got ${bounds.join(', ')}`);
    this.bounds = [...bounds];
    this.duration = this.metric(options.duration, 'histogram', () => this.histogramValues());
    this.total = this.metric(options.total, 'counter', () =>
      this.all().map((s) => ({ labels: { ...s.labels }, value: s.count })),
    );
    // The Registry reads metrics only through the members of ReadableMetric; its type names just
    // prom-client's own classes.
    options.registry.registerMetric(this.duration as unknown as Metric);
    options.registry.registerMetric(this.total as unknown as Metric);
  }

  /** One finished call: +1 on the counter, `seconds` into the histogram. */
  observe(labels: OperationLabels, status: OperationStatus, seconds: number): void {
    const series = this.series(labels, status);
    series.count++;
    series.sum += seconds;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= bounds[i]) {
        series.buckets[i]++;
        return;
      }
    }
  }

  private series(labels: OperationLabels, status: OperationStatus): Series {
    let byDriver = this.byBackend.get(labels.backend);
    if (!byDriver) this.byBackend.set(labels.backend, (byDriver = new Map()));
    let byOperation = byDriver.get(labels.driver);
    if (!byOperation) byDriver.set(labels.driver, (byOperation = new Map()));
    let byStatus = byOperation.get(labels.operation);
    if (!byStatus) byOperation.set(labels.operation, (byStatus = new Map()));
    let series = byStatus.get(status);
    if (!series) {
      const { backend, driver, operation } = labels;
      series = { labels: { backend, driver, operation, status }, count: 0, sum: 0, buckets: this.bounds.map(() => 0) };
      byStatus.set(status, series);
    }
    return series;
  }

  private all(): Series[] {
    const out: Series[] = [];
    for (const byDriver of this.byBackend.values())
      for (const byOperation of byDriver.values())
        for (const byStatus of byOperation.values()) out.push(...byStatus.values());
    return out;
  }

  /** prom-client's Histogram layout: cumulative `_bucket`s with `le` first, `+Inf`, `_sum`, `_count`. */
  private histogramValues(): SeriesValue<SeriesLabel | 'le'>[] {
    const name = this.duration.name;
    const values: SeriesValue<SeriesLabel | 'le'>[] = [];
    for (const s of this.all()) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += s.buckets[i];
        values.push({ labels: { le, ...s.labels }, value: cumulative, metricName: `${name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: `${name}_bucket` });
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${name}_count` });
    }
    return values;
  }

  private metric<L extends string>(
    header: { name: string; help: string },
    type: 'histogram' | 'counter',
    values: () => SeriesValue<L>[],
  ): ReadableMetric<L> {
    // The two metrics are views of the same records: resetting either (registry.resetMetrics()
    // resets both anyway) starts both from zero.
    const reset = (): void => {
      this.byBackend = new Map();
    };
    const metric: ReadableMetric<L> = {
      name: header.name,
      help: header.help,
      type,
      aggregator: 'sum',
      get: () =>
        Promise.resolve({ name: metric.name, help: metric.help, type, aggregator: 'sum' as const, values: values() }),
      reset,
    };
    return metric;
  }
}
