// The worker's Prometheus series for driver calls, circuit breakers and bulkheads, in one
// prom-client Registry (Temporal's own SDK metrics are exported by its Runtime, named alike).
// Nothing here runs prom-client's label handling on a successful call: the per-call series are
// OperationSeries records, and the gauges are read from the guards when the registry is scraped.
import { collectDefaultMetrics, Counter, Gauge, register, Registry } from 'prom-client';
import type { CircuitState } from '../resilience/circuit-breaker';
import type { GuardGauges, OperationLabels, OperationStatus, ResilienceMetrics } from '../resilience/metrics';
import { OperationSeries, type ReadableMetric } from './operation-series';

export type { GuardGauges, OperationLabels, OperationStatus, ResilienceMetrics } from '../resilience/metrics';

/** Every series of ours starts with this (docs/metrics.md lists them all). */
export const METRIC_PREFIX = 'prism_';
/** The Temporal SDK's series, exported by its runtime under this prefix. */
export const TEMPORAL_METRIC_PREFIX = 'prism_temporal_';

/**
 * How often the event-loop delay histogram samples. prom-client's default, 10 ms, is a timer
 * waking the process 100 times a second: about 0.3 % of a core on an idle worker, all of its idle
 * CPU but the pollers'. A sample records the time since the one before, so an idle loop reads
 * 0.1 s; a stall longer than that is still caught whole.
 */
export const EVENT_LOOP_SAMPLE_MS = 100;

/**
 * prom-client's default process and Node.js series (CPU, memory, event-loop lag, GC, handles),
 * prefixed `prism_`, in prom-client's default registry, which /metrics serves: once per process,
 * however many workers it runs.
 */
export function collectProcessMetrics(): void {
  if (register.getSingleMetric(`${METRIC_PREFIX}process_cpu_seconds_total`)) return;
  collectDefaultMetrics({ prefix: METRIC_PREFIX, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
}

/** `prism_circuit_breaker_state` values. */
export const CIRCUIT_STATE_VALUE: Readonly<Record<CircuitState, number>> = { closed: 0, 'half-open': 1, open: 2 };

/** Driver calls take from sub-millisecond (Redis GET) to seconds (a slow Kafka produce). */
export const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type OperationLabel = 'backend' | 'driver' | 'operation';

export interface PrismMetrics extends ResilienceMetrics {
  readonly registry: Registry;
  readonly driverOperationDuration: ReadableMetric<OperationLabel | 'status' | 'le'>;
  readonly driverOperationTotal: ReadableMetric<OperationLabel | 'status'>;
  readonly driverErrorTotal: Counter<OperationLabel | 'error_type'>;
  readonly circuitBreakerState: Gauge<'backend'>;
  readonly circuitBreakerTransitionsTotal: Counter<'backend' | 'from' | 'to'>;
  readonly bulkheadInFlight: Gauge<'backend'>;
  readonly bulkheadQueued: Gauge<'backend'>;
  readonly bulkheadRejectedTotal: Counter<'backend'>;
  watch(backend: string, source: () => GuardGauges): void;
}

/**
 * Registers the series in `registry` and returns their handles plus the {@link ResilienceMetrics}
 * sink guards report to. Call once per registry: prom-client refuses a name registered twice.
 */
export function createMetrics(registry: Registry = new Registry()): PrismMetrics {
  const sources = new Map<string, () => GuardGauges>();
  // Each gauge reads its value from the guards at scrape time, so the guards need not report every
  // change of their bulkhead (two gauge updates per call) nor an open circuit turning half-open.
  const refresh = (gauge: Gauge<'backend'>, read: (g: GuardGauges) => number): void => {
    for (const [backend, source] of sources) gauge.set({ backend }, read(source()));
  };

  const operations = new OperationSeries({
    registry,
    buckets: DURATION_BUCKETS,
    duration: {
      name: 'prism_driver_operation_duration_seconds',
      help: 'Duration of driver operations as seen by the caller (bulkhead wait included), by outcome',
    },
    total: {
      name: 'prism_driver_operations_total',
      help: 'Driver operations by outcome: ok, refused (a business outcome), error, circuit_open, bulkhead_full',
    },
  });
  const driverOperationDuration = operations.duration;
  const driverOperationTotal = operations.total;
  const driverErrorTotal = new Counter({
    name: 'prism_driver_errors_total',
    help: 'Failed driver operations by error type (driver error code, CircuitOpen, BulkheadFull, …); refusals are not errors',
    labelNames: ['backend', 'driver', 'operation', 'error_type'] as const,
    registers: [registry],
  });
  const circuitBreakerState = new Gauge({
    name: 'prism_circuit_breaker_state',
    help: 'Circuit breaker state per backend: 0 closed, 1 half-open, 2 open',
    labelNames: ['backend'] as const,
    registers: [registry],
    collect(this: Gauge<'backend'>) {
      refresh(this, (g) => CIRCUIT_STATE_VALUE[g.state]);
    },
  });
  const circuitBreakerTransitionsTotal = new Counter({
    name: 'prism_circuit_breaker_transitions_total',
    help: 'Circuit breaker state changes per backend',
    labelNames: ['backend', 'from', 'to'] as const,
    registers: [registry],
  });
  const bulkheadInFlight = new Gauge({
    name: 'prism_bulkhead_in_flight',
    help: 'Calls holding a bulkhead slot per backend',
    labelNames: ['backend'] as const,
    registers: [registry],
    collect(this: Gauge<'backend'>) {
      refresh(this, (g) => g.inFlight);
    },
  });
  const bulkheadQueued = new Gauge({
    name: 'prism_bulkhead_queued',
    help: 'Calls waiting for a bulkhead slot per backend',
    labelNames: ['backend'] as const,
    registers: [registry],
    collect(this: Gauge<'backend'>) {
      refresh(this, (g) => g.queued);
    },
  });
  const bulkheadRejectedTotal = new Counter({
    name: 'prism_bulkhead_rejected_total',
    help: 'Calls rejected by a full bulkhead (queue full or wait timed out) per backend',
    labelNames: ['backend'] as const,
    registers: [registry],
  });

  return {
    registry,
    driverOperationDuration,
    driverOperationTotal,
    driverErrorTotal,
    circuitBreakerState,
    circuitBreakerTransitionsTotal,
    bulkheadInFlight,
    bulkheadQueued,
    bulkheadRejectedTotal,
    observeOperation(labels: OperationLabels, status: OperationStatus, seconds: number): void {
      operations.observe(labels, status, seconds);
    },
    countError(labels: OperationLabels, errorType: string): void {
      driverErrorTotal.inc({ ...labels, error_type: errorType });
    },
    circuitTransition(backend: string, from: CircuitState, to: CircuitState): void {
      circuitBreakerTransitionsTotal.inc({ backend, from, to });
      circuitBreakerState.set({ backend }, CIRCUIT_STATE_VALUE[to]);
    },
    setCircuitState(backend: string, state: CircuitState): void {
      circuitBreakerState.set({ backend }, CIRCUIT_STATE_VALUE[state]);
    },
    setBulkhead(backend: string, inFlight: number, queued: number): void {
      bulkheadInFlight.set({ backend }, inFlight);
      bulkheadQueued.set({ backend }, queued);
    },
    countBulkheadRejected(backend: string): void {
      bulkheadRejectedTotal.inc({ backend });
    },
    watch(backend: string, source: () => GuardGauges): void {
      sources.set(backend, source);
    },
  };
}
