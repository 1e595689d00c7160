// Runs every activity execution on a backend's worker through that backend's guard, and turns the
// resilience layer's and drivers' errors into Temporal failures with stable types:
//   CircuitOpenError        → ApplicationFailure `CircuitOpen`, retryable, next retry when a probe is allowed
//   BulkheadFullError       → ApplicationFailure `BulkheadFull`, retryable, next retry after the bulkhead wait
//   DriverError (transient) → ApplicationFailure `Driver<Code>` (DriverUnavailable, DriverTimeout), retryable
//   DriverError (permanent) → ApplicationFailure `Driver<Code>` (DriverInvalidArgument, …), non-retryable
// Anything else (an ApplicationFailure the activity threw, a cancellation) passes through unchanged.
//
// The interceptor runs after the worker's task slot is taken, so it cannot keep one slow backend
// from holding a worker's slots: that is the job of one task queue and worker per backend, whose
// maxConcurrentActivityTaskExecutions is the bulkhead capacity.
import type { Context as ActivityContext } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory } from '@temporalio/worker';
import { type DriverError, type DriverErrorCode, isDriverError } from '../drivers/errors';
import { withProbeScope } from './backend-answered';
import { BackendGuard } from './backend-guard';
import { BulkheadFullError, CircuitOpenError } from './errors';

export const CIRCUIT_OPEN_FAILURE_TYPE = 'CircuitOpen';
export const BULKHEAD_FULL_FAILURE_TYPE = 'BulkheadFull';

/** The ApplicationFailure type of a driver error code: `Driver` + code, e.g. `DriverInvalidArgument`. */
export function driverFailureType(code: DriverErrorCode): `Driver${DriverErrorCode}` {
  return `Driver${code}`;
}

/** Maps resilience and driver errors to Temporal failures; returns anything else unchanged. */
export function toActivityFailure(err: CircuitOpenError | BulkheadFullError | DriverError): ApplicationFailure;
export function toActivityFailure(err: unknown): unknown;
export function toActivityFailure(err: unknown): unknown {
  if (err instanceof CircuitOpenError) {
    return ApplicationFailure.create({
      type: CIRCUIT_OPEN_FAILURE_TYPE,
      message: err.message,
      nonRetryable: false,
      nextRetryDelay: err.retryAfterMs,
      details: [{ backend: err.backend, state: err.state, retryAfterMs: err.retryAfterMs }],
    });
  }
  if (err instanceof BulkheadFullError) {
    return ApplicationFailure.create({
      type: BULKHEAD_FULL_FAILURE_TYPE,
      message: err.message,
      nonRetryable: false,
      nextRetryDelay: err.retryAfterMs,
      details: [{ backend: err.backend, reason: err.reason, retryAfterMs: err.retryAfterMs }],
    });
  }
  if (isDriverError(err)) {
    return ApplicationFailure.create({
      type: driverFailureType(err.code),
      message: err.message,
      nonRetryable: !err.retryable,
      details: [{ driver: err.driver, code: err.code }],
      cause: err,
    });
  }
  return err;
}

/** The guard for every execution, or a function choosing it per execution (undefined: no guard). */
export type GuardSource = BackendGuard | ((ctx: ActivityContext) => BackendGuard | undefined);

/**
 * An activity interceptor factory for a backend's worker:
 * `Worker.create({ …, interceptors: { activity: [createResilienceInterceptor(guard)] } })`.
 * The operation label is the activity type; the activity's cancellation signal aborts a wait for a
 * bulkhead slot.
 */
export function createResilienceInterceptor(source: GuardSource): ActivityInterceptorsFactory {
  return (ctx: ActivityContext) => {
    const guard = source instanceof BackendGuard ? source : source(ctx);
    if (!guard) return {};
    const inbound: ActivityInboundCallsInterceptor = {
      // No async wrapper of our own: it would cost one more promise and turn per call.
      // backendAnswered() in the activity reaches the guard through the probe scope.
      execute: (input, next) =>
        withProbeScope((onProbe) =>
          guard.execute(ctx.info.activityType, () => next(input), { signal: ctx.cancellationSignal, onProbe }),
        ).then(undefined, rethrowAsActivityFailure),
    };
    return { inbound };
  };
}

function rethrowAsActivityFailure(err: unknown): never {
  throw toActivityFailure(err);
}
