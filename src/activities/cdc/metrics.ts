// prism_cdc_lag_bytes, prism_cdc_lag_seconds, prism_cdc_outbox_unpublished_rows, prism_cdc_outbox_oldest_age_seconds and
// prism_cdc_events_total. Pattern activities get no handle on the
// worker's registry (PatternActivityContext has none), so these live in prom-client's default
// registry, which the worker's /metrics also serves.
import { Counter, Gauge, register } from 'prom-client';

function gauge(name: string, help: string): Gauge<'pipeline'> {
  return (
    (register.getSingleMetric(name) as Gauge<'pipeline'> | undefined) ??
    new Gauge({ name, help, labelNames: ['pipeline'] })
  );
}

export const cdcMetrics = {
  lagBytes: gauge('prism_cdc_lag_bytes', 'WAL bytes the pipeline slot still holds'),
  lagSeconds: gauge('prism_cdc_lag_seconds', 'age of the oldest event of the last delivered batch'),
  outboxUnpublished: gauge('prism_cdc_outbox_unpublished_rows', 'outbox rows not yet marked published (outbox mode)'),
  outboxOldestSeconds: gauge(
    'prism_cdc_outbox_oldest_age_seconds',
    'age of the oldest unpublished outbox row (outbox mode)',
  ),
  events:
    (register.getSingleMetric('prism_cdc_events_total') as Counter<'pipeline' | 'table' | 'op'> | undefined) ??
    new Counter({
      name: 'prism_cdc_events_total',
      help: 'events delivered to the sink',
      labelNames: ['pipeline', 'table', 'op'],
    }),
};
