// prism_session_store_replication_lag_seconds: commit in one region → applied in another. Registered on
// prom-client's default registry once per process (slot activities are created per shard slot).
import { Histogram, register } from 'prom-client';

const NAME = 'prism_session_store_replication_lag_seconds';

export function replicationLagSeconds(): Histogram<'region'> {
  const existing = register.getSingleMetric(NAME);
  if (existing) return existing as Histogram<'region'>;
  return new Histogram({
    name: NAME,
    help: 'Seconds from a session write committing in its region to its arrival in another region',
    labelNames: ['region'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
  });
}
