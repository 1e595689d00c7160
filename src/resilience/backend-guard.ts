// One backend's process-local protection: a bulkhead (bounded concurrency, queue and wait) around a
// circuit breaker. Activity executions reach it through the activity interceptor, fast-path calls
// (the session store) call `execute` directly; both share the same guard, so they share the limits.
import { type Span, trace } from '@opentelemetry/api';
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import { isDriverError, isNetworkError } from '../drivers/errors';
import { Bulkhead, type BulkheadRelease } from './bulkhead';
import { type BreakerPermit, type CallOutcome, CircuitBreaker, type CircuitBreakerSnapshot } from './circuit-breaker';
import type { CircuitState } from './circuit-breaker';
import { type Clock, systemClock } from './clock';
import type { ResilienceConfig } from './config';
import { BulkheadFullError, CircuitOpenError } from './errors';
import { driverTracer, inDriverSpan, SPAN_ATTRIBUTE } from './driver-spans';
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
  /**
   * The capability of a direct driver call (a client's fast path): while tracing is on, the guard
   * opens the call's span itself. Without it (an activity) the guard's events go on the active span.
   */
  capability?: { name: string; operation: string };
  /**
   * Called at once when the call is admitted as the circuit's half-open probe, with `answered`:
   * a long call (a streaming round, a shipping round) invokes it as soon as its backend has
   * answered, and the probe counts as a success then, so the circuit closes without waiting for
   * the whole call and other calls to the backend are admitted meanwhile.
   */
  onProbe?: (answered: () => void) => void;
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

/**
 * A business outcome, not a failure: an activity's `ApplicationFailure` of category BENIGN (an
 * identity conflict, a refused ledger change). Temporal itself neither logs it as an error nor
 * counts it as a failed activity; the guard counts it as `refused`, never in the driver errors.
 */
export function isBusinessOutcome(err: unknown): boolean {
  return err instanceof ApplicationFailure && err.category === ApplicationFailureCategory.BENIGN;
}

/** The `error_type` label of a failed call. */
export function errorType(err: unknown, signal?: AbortSignal): string {
  if (err instanceof CircuitOpenError) return 'CircuitOpen';
  if (err instanceof BulkheadFullError) return 'BulkheadFull';
  if (isDriverError(err)) return err.code;
  if (err instanceof ApplicationFailure && err.type) return err.type;
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
  execute<T>(operation: string, fn: (signal: AbortSignal) => Promise<T>, options: GuardCallOptions = {}): Promise<T> {
    const tracer = driverTracer();
    if (tracer === undefined) return this.run(operation, fn, options, undefined);
    const { capability } = options;
    if (!capability) return this.run(operation, fn, options, trace.getActiveSpan());
    const call = {
      backend: this.backend,
      driver: this.driver,
      capability: capability.name,
      operation: capability.operation,
    };
    return inDriverSpan(tracer, call, (span) => this.run(operation, fn, options, span), isCallFailure);
  }

  private async run<T>(
    operation: string,
    fn: (signal: AbortSignal) => Promise<T>,
    options: GuardCallOptions,
    span: Span | undefined,
  ): Promise<T> {
    const started = this.clock.now();
    const labels = this.labels(operation);
    const signal = options.signal ?? NEVER_ABORTED;
    let release: BulkheadRelease | undefined;
    let permit: BreakerPermit | undefined;
    try {
      this.breaker.check();
      // A free slot is taken at once, without a turn of the microtask queue; only a wait is async.
      release =
        (signal.aborted ? undefined : this.bulkhead.tryAcquire()) ??
        (span ? await this.waitForSlot(signal, span) : await this.bulkhead.acquire(signal));
      permit = this.breaker.acquire();
      if (permit.probe && options.onProbe) options.onProbe(permit.success.bind(permit));
      const result = await fn(signal);
      permit.success();
      this.record(labels, 'ok', started);
      return result;
    } catch (err) {
      permit?.failure(err);
      const status = statusOf(err, permit);
      this.record(labels, status, started, status === 'refused' ? undefined : errorType(err, signal));
      if (span) rejectionEvent(span, this.backend, status, err);
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

  /** A wait for a bulkhead slot, as two span events: its start (with the queue) and its end. */
  private async waitForSlot(signal: AbortSignal, span: Span): Promise<BulkheadRelease> {
    const waitStarted = this.clock.now();
    span.addEvent('prism.bulkhead.wait', {
      [SPAN_ATTRIBUTE.backend]: this.backend,
      'prism.bulkhead.in_flight': this.bulkhead.inFlight,
      'prism.bulkhead.queued': this.bulkhead.queued,
    });
    const release = await this.bulkhead.acquire(signal);
    span.addEvent('prism.bulkhead.acquired', { 'prism.bulkhead.wait_ms': this.clock.now() - waitStarted });
    return release;
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

/** A span's failure: anything but a business outcome. */
function isCallFailure(err: unknown): boolean {
  return !isBusinessOutcome(err);
}

/** Marks a rejection by the breaker or the bulkhead on the span: the call never ran. */
function rejectionEvent(span: Span, backend: string, status: OperationStatus, err: unknown): void {
  if (status === 'circuit_open' && err instanceof CircuitOpenError) {
    span.setAttribute(SPAN_ATTRIBUTE.status, status);
    span.addEvent('prism.circuit_breaker.rejected', {
      [SPAN_ATTRIBUTE.backend]: backend,
      'prism.circuit_breaker.state': err.state,
      'prism.retry_after_ms': err.retryAfterMs,
    });
  } else if (status === 'bulkhead_full' && err instanceof BulkheadFullError) {
    span.setAttribute(SPAN_ATTRIBUTE.status, status);
    span.addEvent('prism.bulkhead.rejected', {
      [SPAN_ATTRIBUTE.backend]: backend,
      'prism.bulkhead.reason': err.reason,
      'prism.retry_after_ms': err.retryAfterMs,
    });
  }
}

/** A rejection by this guard (the call never ran) or an error of the call itself. */
function statusOf(err: unknown, permit: BreakerPermit | undefined): OperationStatus {
  // The call ran: whatever it threw is its own error, or the activity's refusal.
  if (permit) return isBusinessOutcome(err) ? 'refused' : 'error';
  if (err instanceof CircuitOpenError) return 'circuit_open';
  if (err instanceof BulkheadFullError) return 'bulkhead_full';
  return 'error';
}
