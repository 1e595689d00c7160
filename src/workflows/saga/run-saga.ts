// The saga primitive for workflow code: run steps in order (parallel groups together); when one
// fails for good, run the compensations of the completed steps in reverse order; past the pivot,
// retry forward instead. The rules live in logic.ts; this file only executes them, keeps the
// state queryable (`sagaStatus`) and mirrors the status into search attributes.
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  defineQuery,
  isCancellation,
  metricMeter,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import { PRISM_PROGRESS, PRISM_STATUS } from '../search-attributes';
import {
  applyEvent,
  checkStages,
  compensationPlan,
  completedCount,
  forwardRetryDelay,
  initialState,
  skippedReason,
  type SagaEvent,
  type SagaState,
  type SagaStatus,
  type Stages,
  type StepOutcome,
} from './logic';
import { idempotencyKey } from './template';

export type { CompensationReport, SagaState, SagaStatus, StepOutcome } from './logic';
export { skippedReason } from './logic';

/** Per-step activity options: the action's and the compensation's are set separately. */
export interface StepOptions {
  retry?: RetryPolicy;
  /** Start-to-close timeout of each activity the step runs. */
  timeout?: Duration;
  /**
   * How long the step's retries may go on in all (schedule-to-close): a transient failure (a
   * backend briefly down, an open breaker) is retried within it rather than counted out by attempts.
   */
  retryFor?: Duration;
  heartbeatTimeout?: Duration;
  /** Template of the step's idempotency key: `${sagaId}` and `${step}` (default `${sagaId}:${step}`). */
  idempotencyKey?: string;
}

/** What an action or compensation receives. */
export interface StepContext {
  sagaId: string;
  step: string;
  /** The same for the action and its compensation, and for every retry of either. */
  idempotencyKey: string;
  /** The step's options as activity option overrides: pass them to useSlot / useSlotActivities. */
  activityOptions: Partial<ActivityOptions>;
  /** Results of the steps completed so far. */
  results: Readonly<Record<string, unknown>>;
}

export interface SagaStep<R = unknown> {
  name: string;
  action(context: StepContext): Promise<R>;
  /**
   * Undoes the action; gets the action's result (undefined when the action failed, see
   * compensateOnFailure). Must be idempotent: it may run more than once. When it finds nothing
   * to undo it returns a CompensationReport (any value with a string `skipped`), so the result
   * says so; whatever else it returns is ignored.
   */
  compensate?(context: StepContext, result: R | undefined): Promise<unknown>;
  /**
   * Compensate this step even when its action failed for good: for actions that may have had
   * their effect before failing (a timeout after the write, a cancel). Its compensation must then
   * undo only what was done (e.g. check the action's idempotency key was applied).
   */
  compensateOnFailure?: boolean;
  /** Once the pivot completes, the saga no longer compensates: later failures retry forward. */
  pivot?: boolean;
  options?: StepOptions;
  compensationOptions?: StepOptions;
}

export interface ParallelGroup {
  parallel: SagaStep[];
}

export type SagaEntry = SagaStep | ParallelGroup;

export interface SagaDefinition {
  /** Defaults to the workflow id. */
  sagaId?: string;
  steps: readonly SagaEntry[];
  /** Backoff between forward retries after the pivot (default 1 s doubling to 1 min). */
  forwardRetry?: { initialIntervalMs?: number; maximumIntervalMs?: number };
  /** More variables for idempotency key templates (e.g. `input` for declarative sagas). */
  keyVariables?: Record<string, unknown>;
  /**
   * Each change of PrismStatus and PrismProgress is a history event and a write to the server's
   * visibility store. With this set (ms of workflow time), the changes of one workflow task are
   * one update, and a progress change shows at most this often: one held back shows with the
   * next status change or once the interval is over (a timer), whichever comes first. A saga of
   * quick steps then updates twice: running, and its outcome. Unset: every change at once (as
   * sagas started before it replay).
   */
  progressIntervalMs?: number;
}

export interface SagaResult {
  sagaId: string;
  status: SagaStatus;
  steps: Record<string, StepOutcome>;
  results: Record<string, unknown>;
  failure?: { step: string; error: string };
  compensationFailure?: { step: string; error: string };
}

export const sagaStatusQuery = defineQuery<SagaState>('sagaStatus');

export const INVALID_SAGA = 'InvalidSaga';

/** Keeps a step's result type while listing it among steps of other types. */
export function step<R>(definition: SagaStep<R>): SagaStep {
  return definition as SagaStep;
}

export function parallel(...steps: SagaStep[]): ParallelGroup {
  return { parallel: steps };
}

function stagesOf(entries: readonly SagaEntry[]): SagaStep[][] {
  return entries.map((entry) => ('parallel' in entry ? [...entry.parallel] : [entry]));
}

function toActivityOptions(options: StepOptions | undefined): Partial<ActivityOptions> {
  const out: Partial<ActivityOptions> = {};
  if (options?.retry) out.retry = options.retry;
  if (options?.timeout !== undefined) out.startToCloseTimeout = options.timeout;
  if (options?.retryFor !== undefined) out.scheduleToCloseTimeout = options.retryFor;
  if (options?.heartbeatTimeout !== undefined) out.heartbeatTimeout = options.heartbeatTimeout;
  return out;
}

/** The innermost cause's type and message: an activity failure wraps the error that matters. */
export function describeError(err: unknown): string {
  let current: unknown = err;
  while (current instanceof ActivityFailure && current.cause) current = current.cause;
  while (current instanceof Error && current.cause instanceof Error && !(current instanceof ApplicationFailure)) {
    current = current.cause;
  }
  if (current instanceof ApplicationFailure && current.type) return `${current.type}: ${current.message}`;
  return current instanceof Error ? current.message : String(current);
}

export async function runSaga(definition: SagaDefinition): Promise<SagaResult> {
  const sagaId = definition.sagaId ?? workflowInfo().workflowId;
  const steps = stagesOf(definition.steps);
  const stages: Stages = steps.map((stage) =>
    stage.map((s) => ({
      name: s.name,
      pivot: s.pivot === true,
      compensable: typeof s.compensate === 'function',
      compensateOnFailure: s.compensateOnFailure === true,
    })),
  );
  const problems = checkStages(stages);
  if (problems.length > 0) throw ApplicationFailure.nonRetryable(problems.join('; '), INVALID_SAGA);

  const results: Record<string, unknown> = {};
  let state = initialState(sagaId, stages);
  setHandler(sagaStatusQuery, () => state);
  const interval = definition.progressIntervalMs;
  let shownStatus: SagaStatus | undefined;
  let shownProgress = -1;
  let shownAt = Number.NEGATIVE_INFINITY;
  let catchUpSet = false;
  const show = (progress: number): void => {
    shownStatus = state.status;
    shownProgress = progress;
    shownAt = Date.now(); // workflow time: the same on replay
    upsertSearchAttributes([
      { key: PRISM_STATUS, value: state.status },
      { key: PRISM_PROGRESS, value: progress },
    ]);
  };
  const publish = (): void => {
    const progress = completedCount(state);
    if (state.status === shownStatus && progress === shownProgress) return;
    const wait = interval === undefined || state.status !== shownStatus ? 0 : shownAt + interval - Date.now();
    if (wait <= 0) return show(progress);
    if (catchUpSet) return;
    catchUpSet = true;
    // Not cancellable: a cancelled saga's progress still shows (its status change shows it anyway).
    void CancellationScope.nonCancellable(() => sleep(wait)).then(() => {
      catchUpSet = false;
      publish();
    });
  };
  let publishQueued = false;
  const apply = (event: SagaEvent): void => {
    state = applyEvent(stages, state, event);
    if (interval === undefined) return publish();
    if (publishQueued) return;
    publishQueued = true;
    // After the other changes of this workflow activation (a step completing and the next one
    // starting, the last one and the saga finishing): one update for them all.
    void Promise.resolve().then(() => {
      publishQueued = false;
      publish();
    });
  };
  publish();

  // The summary is what the Temporal UI shows on the step's activities: the saga and the step.
  const contextOf = (s: SagaStep, options: StepOptions | undefined, summary: string): StepContext => ({
    sagaId,
    step: s.name,
    idempotencyKey: idempotencyKey(s.options?.idempotencyKey, { ...definition.keyVariables, sagaId, step: s.name }),
    activityOptions: { ...toActivityOptions(options), summary: `saga ${sagaId}: ${summary}` },
    results: { ...results },
  });

  const initialMs = definition.forwardRetry?.initialIntervalMs ?? 1_000;
  const maximumMs = definition.forwardRetry?.maximumIntervalMs ?? 60_000;

  // A forward retry round lets Temporal retry its activities without limit, server side: attempts
  // add no history events, so a step stuck past the pivot cannot grow the history to its limit.
  // A forward round has no overall deadline either (retryFor is the first run's, before the pivot).
  const forwardOptions = (options: StepOptions | undefined): StepOptions => ({
    ...options,
    retryFor: undefined,
    retry: {
      ...options?.retry,
      maximumAttempts: Number.POSITIVE_INFINITY,
      initialInterval: initialMs,
      maximumInterval: maximumMs,
    },
  });

  const runStep = async (s: SagaStep): Promise<void> => {
    for (let round = 1; ; round++) {
      apply({ type: 'stepStarted', step: s.name });
      try {
        // The first run keeps the step's own policy; only forward retries go on without limit.
        results[s.name] = await s.action(
          round === 1
            ? contextOf(s, s.options, s.name)
            : contextOf(s, forwardOptions(s.options), `${s.name} (forward retry round ${round})`),
        );
        apply({ type: 'stepCompleted', step: s.name });
        return;
      } catch (err) {
        // A cancelled saga past its pivot stops where it is; before it, it compensates.
        if (isCancellation(err) && state.pivotPassed) throw err;
        apply({ type: 'stepFailed', step: s.name, error: describeError(err) });
        if (!state.pivotPassed || isCancellation(err)) return;
        await sleep(forwardRetryDelay(round, initialMs, maximumMs));
      }
    }
  };

  const compensateStep = async (s: SagaStep): Promise<void> => {
    apply({ type: 'compensationStarted', step: s.name });
    try {
      const reason = skippedReason(
        await s.compensate!(contextOf(s, s.compensationOptions, `undo ${s.name}`), results[s.name]),
      );
      apply(
        reason === undefined
          ? { type: 'compensationCompleted', step: s.name }
          : { type: 'compensationSkipped', step: s.name, reason },
      );
    } catch (err) {
      apply({ type: 'compensationFailed', step: s.name, error: describeError(err) });
    }
  };

  for (const stage of steps) {
    // Every branch of a group settles before the saga decides: a completed branch is compensated too.
    await Promise.all(stage.map(runStep));
    if (state.status !== 'running') break;
  }

  if (state.status === 'compensating') {
    const byName = new Map(steps.flat().map((s) => [s.name, s]));
    // Compensations run even when the saga was cancelled: they are what cancelling means.
    await CancellationScope.nonCancellable(async () => {
      for (const group of compensationPlan(stages, state)) {
        await Promise.all(group.map((name) => compensateStep(byName.get(name)!)));
        // Stop at the first compensation that gave up: earlier steps stay as they are for a human.
        if (state.status === 'compensation_failed') break;
      }
    });
  }

  apply({ type: 'finished' });
  // prism_saga_outcomes_total{status}: a compensation that gave up must be visible to
  // alerting, and the workflow itself completes normally then. Not emitted during replay.
  metricMeter
    .createCounter(
      'prism_saga_outcomes',
      undefined,
      'Sagas finished, by outcome (completed, compensated, compensation_failed)',
    )
    .add(1, { status: state.status });
  return {
    sagaId,
    status: state.status,
    steps: state.steps,
    results,
    ...(state.failure ? { failure: state.failure } : {}),
    ...(state.compensationFailure ? { compensationFailure: state.compensationFailure } : {}),
  };
}
