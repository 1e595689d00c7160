import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { DURATION_BUCKETS } from '../../src/observability/metrics';
import { OperationSeries } from '../../src/observability/operation-series';
import type { OperationLabels, OperationStatus } from '../../src/resilience/metrics';

const duration = { name: 'op_duration_seconds', help: 'how long' };
const total = { name: 'op_total', help: 'how many' };

/** The same observations through prom-client's own Histogram and Counter, for reference. */
function reference(registry: Registry) {
  const labelNames = ['backend', 'driver', 'operation', 'status'] as const;
  const h = new Histogram({ ...duration, labelNames, buckets: DURATION_BUCKETS, registers: [registry] });
  const c = new Counter({ ...total, labelNames, registers: [registry] });
  return (labels: OperationLabels, status: OperationStatus, seconds: number): void => {
    h.observe({ ...labels, status }, seconds);
    c.inc({ ...labels, status });
  };
}

const lines = async (registry: Registry): Promise<string[]> => (await registry.metrics()).split('\n').sort();

describe('OperationSeries', () => {
  it("exports exactly the series prom-client's Histogram and Counter would", async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const series = new OperationSeries({ registry: ours, buckets: DURATION_BUCKETS, duration, total });
    const observe = reference(theirs);
    const cache = { backend: 'cache', driver: 'redis', operation: 'kv.get' };
    const pg = { backend: 'pg', driver: 'postgres', operation: 'sql.query' };
    // on a bound, between bounds, above the last bound, zero; four statuses; two backends
    const calls: [OperationLabels, OperationStatus, number][] = [
      [cache, 'ok', 0],
      [cache, 'ok', 0.0005],
      [cache, 'ok', 0.0007],
      [cache, 'ok', 12],
      [cache, 'error', 0.3],
      [cache, 'circuit_open', 0.00001],
      [pg, 'bulkhead_full', 5],
      [pg, 'ok', 2.5],
      [{ ...cache }, 'ok', 0.001], // an equal label object, not the same one
    ];
    for (const [labels, status, seconds] of calls) {
      series.observe(labels, status, seconds);
      observe(labels, status, seconds);
    }
    assert.deepEqual(await lines(ours), await lines(theirs));
    const counted = (await series.total.get()).values.find(
      (v) => v.labels.operation === 'kv.get' && v.labels.status === 'ok',
    );
    assert.equal(counted?.value, 5);
  });

  it('is read through the registry like any metric, and reset with it', async () => {
    const registry = new Registry();
    const series = new OperationSeries({ registry, buckets: [0.1, 1], duration, total });
    series.observe({ backend: 'b', driver: 'd', operation: 'o' }, 'ok', 0.5);
    assert.equal(registry.getSingleMetric('op_total'), series.total);
    const { values } = await series.duration.get();
    assert.deepEqual(
      values.map((v) => [v.metricName, v.labels.le, v.value]),
      [
        ['op_duration_seconds_bucket', 0.1, 0],
        ['op_duration_seconds_bucket', 1, 1],
        ['op_duration_seconds_bucket', '+Inf', 1],
        ['op_duration_seconds_sum', undefined, 0.5],
        ['op_duration_seconds_count', undefined, 1],
      ],
    );
    registry.resetMetrics();
    assert.deepEqual((await series.total.get()).values, []);
    assert.match(await registry.metrics(), /# TYPE op_duration_seconds histogram\n[\s\S]*# TYPE op_total counter/);
  });

  it('refuses buckets that are not ascending', () => {
    assert.throws(
      () => new OperationSeries({ registry: new Registry(), buckets: [1, 0.5], duration, total }),
      /ascending/,
    );
  });
});
