// Runs a declarative saga: each step calls a slot operation (a driver operation such as
// `keyvalue_basic.set`, or one of the saga pattern's own slot activities) with arguments rendered
// from the saga input and earlier results, through the same runSaga as typed sagas.
import { ApplicationFailure, type ActivityOptions, type RetryPolicy } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { Capability } from '../../drivers/capabilities';
import type { SlotBindings } from '../../sdk/slot';
import { bindSlots, useSlot, useSlotActivities } from '../slots';
import { validateDefinition, type CallDefinition, type StepDefinition } from './definition';
import { INVALID_SAGA, runSaga, type SagaResult, type SagaStep, type StepContext, type StepOptions } from './run-saga';
import { render } from './template';
import { SAGA } from './slots';

export interface DeclarativeSagaInput {
  /** The saga definition (parsed YAML/JSON). */
  definition: unknown;
  /** What `${input.…}` templates read. */
  input?: Record<string, unknown>;
}

type Operation = (...args: unknown[]) => Promise<unknown>;

function operation(bindings: SlotBindings, call: CallDefinition, options: Partial<ActivityOptions>): Operation {
  const binding = bindings[call.slot];
  const dot = call.op.indexOf('.');
  if (dot > 0) {
    const capability = call.op.slice(0, dot) as Capability;
    const ops = useSlot(binding, { requires: [capability] }, options) as unknown as Record<string, Operation>;
    return ops[call.op.slice(dot + 1)];
  }
  return useSlotActivities<Record<string, Operation>>(binding, options)[call.op];
}

// The schema admits only durations Temporal parses ("500ms", "10s", milliseconds as a number).
function optionsOf(call: CallDefinition): StepOptions {
  return {
    ...(call.retry ? { retry: call.retry as RetryPolicy } : {}),
    ...(call.timeout !== undefined ? { timeout: call.timeout as Duration } : {}),
  };
}

export async function declarativeSagaWorkflow(raw: DeclarativeSagaInput): Promise<SagaResult> {
  const input = raw?.input ?? {};
  const { saga, problems } = validateDefinition(raw?.definition, input);
  if (!saga) throw ApplicationFailure.nonRetryable(problems.join('; '), INVALID_SAGA);
  const bindings = await bindSlots(SAGA);
  const unbound = saga.stages
    .flat()
    .flatMap((s) => [s.slot, ...(s.compensate ? [s.compensate.slot] : [])])
    .filter((slot) => !bindings[slot]);
  if (unbound.length > 0) {
    const names = [...new Set(unbound)].join(', ');
    throw ApplicationFailure.nonRetryable(`slots not bound to a backend on this worker: ${names}`, INVALID_SAGA);
  }

  const scope = (c: StepContext, own?: { name: string; result: unknown }): Record<string, unknown> => {
    const steps: Record<string, { result: unknown }> = {};
    for (const [name, result] of Object.entries(c.results)) steps[name] = { result };
    if (own) steps[own.name] = { result: own.result };
    return { input, steps, sagaId: c.sagaId, step: c.step, idempotencyKey: c.idempotencyKey };
  };

  const toStep = (s: StepDefinition): SagaStep => {
    const compensation = s.compensate;
    return {
      name: s.name,
      pivot: s.pivot,
      compensateOnFailure: s.compensateOnFailure,
      options: { ...optionsOf(s), ...(s.idempotencyKey ? { idempotencyKey: s.idempotencyKey } : {}) },
      compensationOptions: compensation ? optionsOf(compensation) : undefined,
      action: (c) => operation(bindings, s, c.activityOptions)(...(render(s.args, scope(c)) as unknown[])),
      compensate: compensation
        ? async (c, result) => {
            const args = render(compensation.args, scope(c, { name: s.name, result })) as unknown[];
            // An operation reporting { skipped: reason } (the ledger undos do) marks the step skipped.
            return operation(bindings, compensation, c.activityOptions)(...args);
          }
        : undefined,
    };
  };

  return runSaga({
    keyVariables: { input },
    steps: saga.stages.map((stage) => (stage.length === 1 ? toStep(stage[0]) : { parallel: stage.map(toStep) })),
  });
}
