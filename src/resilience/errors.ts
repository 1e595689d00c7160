// Rejections by the resilience layer. Both say when trying again makes sense (`retryAfterMs`), which
// the activity interceptor turns into Temporal's next retry delay.

/** The shortest retry delay we ever suggest, so callers never spin. */
export const MIN_RETRY_AFTER_MS = 100;

export function clampRetryAfter(ms: number): number {
  return Math.max(MIN_RETRY_AFTER_MS, Math.ceil(Number.isFinite(ms) ? ms : 0));
}

/** The backend's circuit is open (or half-open with every probe slot taken): the call did not run. */
export class CircuitOpenError extends Error {
  readonly backend: string;
  /** Time until a probe may be allowed, at least {@link MIN_RETRY_AFTER_MS}. */
  readonly retryAfterMs: number;
  readonly state: 'open' | 'half-open';

  constructor(backend: string, retryAfterMs: number, state: 'open' | 'half-open' = 'open') {
    const after = clampRetryAfter(retryAfterMs);
    super(
      state === 'open'
        ? `circuit for backend "${backend}" is open; retry in ${after}ms`
        : `circuit for backend "${backend}" is half-open and its probes are taken; retry in ${after}ms`,
    );
    this.name = 'CircuitOpenError';
    this.backend = backend;
    this.retryAfterMs = after;
    this.state = state;
  }
}

export type BulkheadRejection = 'queue-full' | 'timeout';

/** The backend's bulkhead had no slot: its queue was full, or the wait for a slot timed out. */
export class BulkheadFullError extends Error {
  readonly backend: string;
  readonly retryAfterMs: number;
  readonly reason: BulkheadRejection;

  constructor(backend: string, reason: BulkheadRejection, retryAfterMs: number) {
    const after = clampRetryAfter(retryAfterMs);
    super(
      reason === 'queue-full'
        ? `bulkhead for backend "${backend}" is full (every slot and queue place taken); retry in ${after}ms`
        : `bulkhead for backend "${backend}": timed out waiting for a slot; retry in ${after}ms`,
    );
    this.name = 'BulkheadFullError';
    this.backend = backend;
    this.retryAfterMs = after;
    this.reason = reason;
  }
}

export function isCircuitOpenError(err: unknown): err is CircuitOpenError {
  return err instanceof CircuitOpenError;
}

export function isBulkheadFullError(err: unknown): err is BulkheadFullError {
  return err instanceof BulkheadFullError;
}
