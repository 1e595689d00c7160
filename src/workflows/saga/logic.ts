// The saga's planning logic, pure: which shapes are valid, how each event moves the saga's state,
// which compensations run (and in what order) once a step has failed for good. The workflow
// runtime (run-saga.ts) only executes what this module decides, so every rule here is unit-tested
// without Temporal.

export type SagaStatus = 'running' | 'compensating' | 'completed' | 'compensated' | 'compensation_failed';

export type StepStatus =
  | 'pending'
  | 'running'
  /** Failed after the pivot: the saga retries it forward instead of compensating. */
  | 'retrying'
  | 'completed'
  | 'failed'
  | 'compensating'
  | 'compensated'
  /** Its compensation ran and found nothing to undo (see skipReason): the action had had no effect. */
  | 'skipped'
  | 'compensation_failed';

/** What the planner needs to know of a step: its name, whether it is the pivot, whether it can be undone. */
export interface StepShape {
  name: string;
  pivot: boolean;
  compensable: boolean;
  /**
   * The action may have had its effect although it failed (a timeout, a cancel): its compensation
   * runs for a failed action too, and must cope with an action that never happened.
   */
  compensateOnFailure?: boolean;
}

/** Steps in order; the steps of one stage run together (a parallel group), stages one after another. */
export type Stages = readonly (readonly StepShape[])[];

export interface StepOutcome {
  status: StepStatus;
  /** Times the action was started (forward retries after the pivot start it again). */
  attempts: number;
  error?: string;
  compensationError?: string;
  /** Why the compensation had nothing to undo (status skipped). */
  skipReason?: string;
}

export interface SagaState {
  sagaId: string;
  status: SagaStatus;
  /** Steps (or compensations) in flight right now. */
  currentSteps: string[];
  /** True once the pivot has completed: from then on the saga only retries forward. */
  pivotPassed: boolean;
  steps: Record<string, StepOutcome>;
  /** The step whose failure made the saga compensate. */
  failure?: { step: string; error: string };
  /** The compensation that gave up: the saga ends in compensation_failed naming it. */
  compensationFailure?: { step: string; error: string };
}

/** What a compensation may return: that it found nothing to undo, and why (the step ends `skipped`). */
export interface CompensationReport {
  skipped: string;
}

/** The reason of a compensation's report, when it is one (any value with a string `skipped`). */
export function skippedReason(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const skipped = (value as { skipped?: unknown }).skipped;
  return typeof skipped === 'string' ? skipped : undefined;
}

export type SagaEvent =
  | { type: 'stepStarted'; step: string }
  | { type: 'stepCompleted'; step: string }
  /** The step's own retry policy gave up. */
  | { type: 'stepFailed'; step: string; error: string }
  | { type: 'compensationStarted'; step: string }
  | { type: 'compensationCompleted'; step: string }
  /** The compensation ran and reported that there was nothing to undo. */
  | { type: 'compensationSkipped'; step: string; reason: string }
  | { type: 'compensationFailed'; step: string; error: string }
  | { type: 'finished' };

const STEP_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/** Shape problems, each naming the step (empty when the saga is valid). */
export function checkStages(stages: Stages): string[] {
  const problems: string[] = [];
  if (stages.length === 0) problems.push('steps: a saga needs at least one step');
  const seen = new Set<string>();
  let pivots = 0;
  stages.forEach((stage, i) => {
    if (stage.length === 0) problems.push(`steps[${i}]: a parallel group needs at least one step`);
    for (const step of stage) {
      if (!STEP_NAME.test(step.name)) {
        problems.push(`steps[${i}] "${step.name}": a step name is a letter then letters, digits, - or _ (≤ 64)`);
      }
      if (seen.has(step.name)) problems.push(`steps[${i}] "${step.name}": duplicate step name`);
      seen.add(step.name);
      if (step.pivot) {
        pivots++;
        // A pivot inside a group would leave its siblings' fate ambiguous when one of them fails.
        if (stage.length > 1) problems.push(`steps[${i}] "${step.name}": the pivot cannot be inside a parallel group`);
      }
    }
  });
  if (pivots > 1) problems.push('steps: a saga has at most one pivot step');
  return problems;
}

export function initialState(sagaId: string, stages: Stages): SagaState {
  const steps: Record<string, StepOutcome> = {};
  for (const stage of stages) for (const step of stage) steps[step.name] = { status: 'pending', attempts: 0 };
  return { sagaId, status: 'running', currentSteps: [], pivotPassed: false, steps };
}

function findStep(stages: Stages, name: string): StepShape {
  for (const stage of stages) for (const step of stage) if (step.name === name) return step;
  throw new Error(`unknown saga step "${name}"`);
}

function withStep(state: SagaState, name: string, change: Partial<StepOutcome>): SagaState {
  const current = state.steps[name];
  if (!current) throw new Error(`unknown saga step "${name}"`);
  return { ...state, steps: { ...state.steps, [name]: { ...current, ...change } } };
}

const addCurrent = (list: string[], name: string): string[] => (list.includes(name) ? list : [...list, name]);
const dropCurrent = (list: string[], name: string): string[] => list.filter((n) => n !== name);

/** The next state after an event. Never mutates its arguments. */
export function applyEvent(stages: Stages, state: SagaState, event: SagaEvent): SagaState {
  switch (event.type) {
    case 'stepStarted': {
      const outcome = state.steps[event.step];
      const next = withStep(state, event.step, { status: 'running', attempts: (outcome?.attempts ?? 0) + 1 });
      return { ...next, currentSteps: addCurrent(state.currentSteps, event.step) };
    }
    case 'stepCompleted': {
      const next = withStep(state, event.step, { status: 'completed', error: undefined });
      const pivotPassed = state.pivotPassed || findStep(stages, event.step).pivot;
      return { ...next, pivotPassed, currentSteps: dropCurrent(state.currentSteps, event.step) };
    }
    case 'stepFailed': {
      const currentSteps = dropCurrent(state.currentSteps, event.step);
      if (state.pivotPassed) {
        // Past the point of no return: the step is started again, nothing is undone.
        return { ...withStep(state, event.step, { status: 'retrying', error: event.error }), currentSteps };
      }
      const next = withStep(state, event.step, { status: 'failed', error: event.error });
      // In a parallel group several branches may fail: the first one is the saga's failure.
      const failure = state.failure ?? { step: event.step, error: event.error };
      return { ...next, status: 'compensating', failure, currentSteps };
    }
    case 'compensationStarted': {
      const next = withStep(state, event.step, { status: 'compensating' });
      return { ...next, currentSteps: addCurrent(state.currentSteps, event.step) };
    }
    case 'compensationCompleted': {
      const next = withStep(state, event.step, { status: 'compensated' });
      return { ...next, currentSteps: dropCurrent(state.currentSteps, event.step) };
    }
    case 'compensationSkipped': {
      const next = withStep(state, event.step, { status: 'skipped', skipReason: event.reason });
      return { ...next, currentSteps: dropCurrent(state.currentSteps, event.step) };
    }
    case 'compensationFailed': {
      const next = withStep(state, event.step, { status: 'compensation_failed', compensationError: event.error });
      const compensationFailure = state.compensationFailure ?? { step: event.step, error: event.error };
      return {
        ...next,
        status: 'compensation_failed',
        compensationFailure,
        currentSteps: dropCurrent(state.currentSteps, event.step),
      };
    }
    case 'finished': {
      const status: SagaStatus =
        state.status === 'running' ? 'completed' : state.status === 'compensating' ? 'compensated' : state.status;
      return { ...state, status, currentSteps: [] };
    }
  }
}

/** Whether a step that failed for good is retried forward (past the pivot) rather than compensated. */
export function retriesForward(state: SagaState): boolean {
  return state.pivotPassed;
}

/**
 * The compensations to run, as groups run one after another: stages in reverse order, each group
 * holding the completed, compensable steps of one stage (a parallel group's compensations run
 * together). Steps that never started have nothing to undo; a failed step is undone only when it
 * asks for it (compensateOnFailure).
 */
export function compensationPlan(stages: Stages, state: SagaState): string[][] {
  const plan: string[][] = [];
  for (let i = stages.length - 1; i >= 0; i--) {
    const group = stages[i]
      .filter((step) => {
        const status = state.steps[step.name]?.status;
        return (
          step.compensable && (status === 'completed' || (status === 'failed' && step.compensateOnFailure === true))
        );
      })
      .map((step) => step.name);
    if (group.length > 0) plan.push(group);
  }
  return plan;
}

/** Completed steps (for the PrismProgress search attribute). */
export function completedCount(state: SagaState): number {
  return Object.values(state.steps).filter((s) => s.status === 'completed').length;
}

/** Backoff between forward retries: doubles from initialMs up to maximumMs. */
export function forwardRetryDelay(round: number, initialMs: number, maximumMs: number): number {
  return Math.min(maximumMs, initialMs * 2 ** Math.max(0, round - 1));
}
