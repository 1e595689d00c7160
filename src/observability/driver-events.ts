// What the worker does with the events drivers report (drivers/events.ts): log each one, with the
// backend and the reason, and count failures per backend, e.g. prism_cdc_heartbeat_failures_total.
import { Counter, type Registry } from 'prom-client';
import type { DriverEvent, DriverEventReport } from '../drivers/events';
import type { Logger } from './logger';

export interface DriverEventMetrics {
  readonly cdcHeartbeatFailuresTotal: Counter<'backend'>;
}

/** Registers the series in `registry`; once per registry, as createMetrics. */
export function createDriverEventMetrics(registry: Registry): DriverEventMetrics {
  return {
    cdcHeartbeatFailuresTotal: new Counter({
      name: 'prism_cdc_heartbeat_failures_total',
      help: 'Failed WAL heartbeats of CDC sources per backend (each is retried with backoff)',
      labelNames: ['backend'] as const,
      registers: [registry],
    }),
  };
}

/** The `report` to put in a backend's DriverContext. */
export function driverEventReporter(backend: string, logger: Logger, metrics: DriverEventMetrics): DriverEventReport {
  return (event: DriverEvent) => {
    switch (event.type) {
      case 'cdc_heartbeat_failed':
        metrics.cdcHeartbeatFailuresTotal.inc({ backend });
        logger.warn('CDC heartbeat failed; slot positions advance with changes only until one succeeds', {
          backend,
          slot: event.slot,
          reason: event.reason,
          failures: event.failures,
          retryInMs: event.retryInMs,
        });
        return;
      case 'cdc_heartbeat_resumed':
        logger.info('CDC heartbeats resumed', { backend, slot: event.slot, afterFailures: event.afterFailures });
        return;
    }
  };
}
