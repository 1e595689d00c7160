// What the resilience layer reports, as an interface: src/observability/metrics.ts implements it
// with prom-client, tests may implement it with anything, and a guard works without one.
import type { CircuitState } from './circuit-breaker';

export interface OperationLabels {
  backend: string;
  driver: string;
  operation: string;
}

/**
 * `ok`, `refused` and `error` ran the call; the other two were rejected before it ran. `refused`
 * is a business outcome (an identity already registered, a ledger change refused): the backend
 * answered and the activity said no, so it is neither an error nor a driver error.
 */
export type OperationStatus = 'ok' | 'refused' | 'error' | 'circuit_open' | 'bulkhead_full';

/** Live values a metrics sink may read when it is scraped. */
export interface GuardGauges {
  state: CircuitState;
  inFlight: number;
  queued: number;
}

export interface ResilienceMetrics {
  /** One finished (or rejected) call and how long it took, queue wait included. */
  observeOperation(labels: OperationLabels, status: OperationStatus, seconds: number): void;
  countError(labels: OperationLabels, errorType: string): void;
  circuitTransition(backend: string, from: CircuitState, to: CircuitState): void;
  setCircuitState(backend: string, state: CircuitState): void;
  /** The bulkhead's counts: once at start, then on every change only for a sink without `watch`. */
  setBulkhead(backend: string, inFlight: number, queued: number): void;
  countBulkheadRejected(backend: string): void;
  /**
   * Registers a source the sink reads at scrape time (an open circuit turns half-open on time, and
   * the bulkhead need not report each call's slot taken and given back).
   */
  watch?(backend: string, source: () => GuardGauges): void;
}
