// One backend's process-local protection: a bulkhead (bounded concurrency, queue and wait) around a
// circuit breaker. Activity executions reach it through the activity interceptor, fast-path calls
// (the session store) call `execute` directly; both share the same guard, so they share the limits.
import { isDriverError, isNetworkError } from '../drivers/errors';
import { Bulkhead, type BulkheadRelease } from './bulkhead';
import { type BreakerPermit, type CallOutcome, CircuitBreaker, type CircuitBreakerSnapshot } from './circuit-breaker';
import type { CircuitState } from './circuit-breaker';
import { type Clock, systemClock } from './clock';
import type { ResilienceConfig } from './config';
import { BulkheadFullError, CircuitOpenError } from './errors';
import type { OperationLabels, OperationStatus, ResilienceMetrics } from './metrics';

export interface BackendGuardOptions {
  backend: string;
  driver: string;
  config: ResilienceConfig;
  metrics?: ResilienceMetrics;
  clock?: Clock;
  /** Overrides how a thrown error counts for the breaker (default: classifyError). */
  classify?: (err: unknown) => CallOutcome;
}

export interface GuardCallOptions {
  /** Aborts the wait for a slot and is handed to the call (an activity's cancellation signal). */
  signal?: AbortSignal;
}

export interface GuardSnapshot {
  backend: string;
  driver: string;
  state: CircuitState;
  msUntilHalfOpen: number;
  inFlight: number;
  queued: number;
  capacity: number;
  queueCapacity: number;
  breaker: CircuitBreakerSnapshot;
}

/** The `error_type` label of a failed call. */
export function errorType(err: unknown, signal?: AbortSignal): string {
  if (err instanceof CircuitOpenError) return 'CircuitOpen';
  if (err instanceof BulkheadFullError) return 'BulkheadFull';
  if (isDriverError(err)) return err.code;
  if (signal?.aborted) return 'Cancelled';
  if (isNetworkError(err)) return (err as { code: string }).code;
  return 'Other';
}

const NEVER_ABORTED = new AbortController().signal;

export class BackendGuard {
  readonly backend: string;
  readonly driver: string;
  readonly breaker: CircuitBreaker;
  readonly bulkhead: Bulkhead;
  private readonly clock: Clock;
  private readonly metrics: ResilienceMetrics | undefined;
  /** One label object per operation, reused by every call instead of one built per call. */
  private readonly labelsByOperation = new Map<string, OperationLabels>();

  constructor(opts: BackendGuardOptions) {
    const { backend, metrics } = opts;
    this.backend = backend;
    this.driver = opts.driver;
    this.clock = opts.clock ?? systemClock;
    this.metrics = metrics;
    this.breaker = new CircuitBreaker({
      backend,
      config: opts.config.circuit_breaker,
      clock: this.clock,
      classify: opts.classify,
      onTransition: (from, to) => metrics?.circuitTransition(backend, from, to),
    });
    this.bulkhead = new Bulkhead({
      backend,
      config: opts.config.bulkhead,
      // A sink that watches the guard reads the counts when scraped: no report on every change.
      onChange:
        metrics && !metrics.watch ? (inFlight, queued) => metrics.setBulkhead(backend, inFlight, queued) : undefined,
      onReject: () => metrics?.countBulkheadRejected(backend),
    });
    metrics?.setCircuitState(backend, 'closed');
    metrics?.setBulkhead(backend, 0, 0);
    metrics?.watch?.(backend, () => ({
      state: this.breaker.state(),
      inFlight: this.bulkhead.inFlight,
      queued: this.bulkhead.queued,
    }));
  }

  /**
   * Runs one driver call under the bulkhead and the breaker.
   *
   * Order: the bulkhead is outside, the breaker inside, with a non-admitting breaker check first.
   * - The check first: while the circuit is open, calls fail fast instead of filling the queue
   *   and waiting for a slot only to be refused.
   * - Bulkhead outside: a queue-full or wait timeout is our own overload, not evidence that the
   *   backend is down, so it must never reach the breaker's failure count.
   * - Breaker admission inside, after the slot is won: a half-open probe slot is only taken by a
   *   call that runs at once (a probe stuck in the queue would block the other probes and could
   *   time out without telling us anything), and a circuit that opened while we waited is obeyed.
   *
   * Throws CircuitOpenError, BulkheadFullError, the signal's reason if it aborts the wait, or
   * whatever `fn` throws.
   */
  async execute<T>(
    operation: string,
    fn: (signal: AbortSignal) => Promise<T>,
    options: GuardCallOptions = {},
  ): Promise<T> {
    const started = this.clock.now();
    const labels = this.labels(operation);
    const signal = options.signal ?? NEVER_ABORTED;
    let release: BulkheadRelease | undefined;
    let permit: BreakerPermit | undefined;
    try {
      this.breaker.check();
      // A free slot is taken at once, without a turn of the microtask queue; only a wait is async.
      release = (signal.aborted ? undefined : this.bulkhead.tryAcquire()) ?? (await this.bulkhead.acquire(signal));
      permit = this.breaker.acquire();
      const result = await fn(signal);
      permit.success();
      this.record(labels, 'ok', started);
      return result;
    } catch (err) {
      permit?.failure(err);
      this.record(labels, statusOf(err, permit), started, errorType(err, signal));
      throw err;
    } finally {
      release?.();
    }
  }

  state(): CircuitState {
    return this.breaker.state();
  }

  msUntilHalfOpen(): number {
    return this.breaker.msUntilHalfOpen();
  }

  snapshot(): GuardSnapshot {
    const breaker = this.breaker.snapshot();
    return {
      backend: this.backend,
      driver: this.driver,
      state: breaker.state,
      msUntilHalfOpen: breaker.msUntilHalfOpen,
      inFlight: this.bulkhead.inFlight,
      queued: this.bulkhead.queued,
      capacity: this.bulkhead.capacity,
      queueCapacity: this.bulkhead.queueCapacity,
      breaker,
    };
  }

  private labels(operation: string): OperationLabels {
    let labels = this.labelsByOperation.get(operation);
    if (!labels) {
      labels = Object.freeze({ backend: this.backend, driver: this.driver, operation });
      this.labelsByOperation.set(operation, labels);
    }
    return labels;
  }

  private record(labels: OperationLabels, status: OperationStatus, started: number, type?: string): void {
    if (!this.metrics) return;
    const seconds = Math.max(0, this.clock.now() - started) / 1000;
    this.metrics.observeOperation(labels, status, seconds);
    if (type !== undefined) this.metrics.countError(labels, type);
  }
}

/** A rejection by this guard (the call never ran) or an error of the call itself. */
function statusOf(err: unknown, permit: BreakerPermit | undefined): OperationStatus {
  if (permit) return 'error'; // the call ran: whatever it threw is its own error
  if (err instanceof CircuitOpenError) return 'circuit_open';
  if (err instanceof BulkheadFullError) return 'bulkhead_full';
  return 'error';
}
