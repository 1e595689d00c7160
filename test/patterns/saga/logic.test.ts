// The saga planner without Temporal: shapes, transitions, which compensations run and in what order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
  type Stages,
  type StepShape,
} from '../../../src/workflows/saga/logic';

const s = (name: string, extra: Partial<StepShape> = {}): StepShape => ({
  name,
  pivot: false,
  compensable: true,
  ...extra,
});

function run(stages: Stages, events: SagaEvent[]): SagaState {
  return events.reduce((state, e) => applyEvent(stages, state, e), initialState('saga-1', stages));
}

const started = (step: string): SagaEvent => ({ type: 'stepStarted', step });
const completed = (step: string): SagaEvent => ({ type: 'stepCompleted', step });
const failed = (step: string, error = 'boom'): SagaEvent => ({ type: 'stepFailed', step, error });

describe('saga plan: shapes', () => {
  it('accepts sequential steps and parallel groups', () => {
    assert.deepEqual(checkStages([[s('a')], [s('b'), s('c')], [s('d', { pivot: true })]]), []);
  });

  it('refuses duplicate names, empty sagas and groups, bad names, a pivot in a group, two pivots', () => {
    assert.match(checkStages([[s('a')], [s('a')]]).join('\n'), /steps\[1\] "a": duplicate step name/);
    assert.match(checkStages([]).join('\n'), /at least one step/);
    assert.match(checkStages([[]]).join('\n'), /steps\[0\]: a parallel group needs at least one step/);
    assert.match(checkStages([[s('1bad')]]).join('\n'), /steps\[0\] "1bad"/);
    assert.match(
      checkStages([[s('a'), s('b', { pivot: true })]]).join('\n'),
      /"b": the pivot cannot be inside a parallel group/,
    );
    assert.match(checkStages([[s('a', { pivot: true })], [s('b', { pivot: true })]]).join('\n'), /at most one pivot/);
  });
});

describe('saga plan: transitions', () => {
  const stages: Stages = [[s('a')], [s('b')], [s('c')]];

  it('starts running with every step pending', () => {
    const state = initialState('saga-1', stages);
    assert.equal(state.status, 'running');
    assert.deepEqual(
      Object.values(state.steps).map((o) => o.status),
      ['pending', 'pending', 'pending'],
    );
  });

  it('completes when every step completes', () => {
    const state = run(stages, [
      started('a'),
      completed('a'),
      started('b'),
      completed('b'),
      started('c'),
      completed('c'),
      { type: 'finished' },
    ]);
    assert.equal(state.status, 'completed');
    assert.equal(completedCount(state), 3);
    assert.deepEqual(state.currentSteps, []);
  });

  it('tracks the current step and attempts', () => {
    const state = run(stages, [started('a'), completed('a'), started('b')]);
    assert.deepEqual(state.currentSteps, ['b']);
    assert.equal(state.steps.b.attempts, 1);
    assert.equal(state.steps.b.status, 'running');
  });

  it('a failure before the pivot switches to compensating and records the failing step', () => {
    const state = run(stages, [started('a'), completed('a'), started('b'), failed('b', 'Declined: no money')]);
    assert.equal(state.status, 'compensating');
    assert.deepEqual(state.failure, { step: 'b', error: 'Declined: no money' });
    assert.equal(state.steps.b.status, 'failed');
  });

  it('compensated when every compensation succeeds; compensation_failed names the step and error', () => {
    const base = [started('a'), completed('a'), started('b'), failed('b')];
    const ok = run(stages, [
      ...base,
      { type: 'compensationStarted', step: 'a' },
      { type: 'compensationCompleted', step: 'a' },
      { type: 'finished' },
    ]);
    assert.equal(ok.status, 'compensated');
    assert.equal(ok.steps.a.status, 'compensated');
    const bad = run(stages, [
      ...base,
      { type: 'compensationStarted', step: 'a' },
      { type: 'compensationFailed', step: 'a', error: 'NotFound: gone' },
      { type: 'finished' },
    ]);
    assert.equal(bad.status, 'compensation_failed');
    assert.deepEqual(bad.compensationFailure, { step: 'a', error: 'NotFound: gone' });
    assert.equal(bad.steps.a.compensationError, 'NotFound: gone');
  });

  it('a compensation that found nothing to undo ends its step skipped with the reason; the saga is compensated', () => {
    const state = run(stages, [
      started('a'),
      completed('a'),
      started('b'),
      failed('b'),
      { type: 'compensationStarted', step: 'a' },
      { type: 'compensationSkipped', step: 'a', reason: 'nothing to undo: a was never applied' },
      { type: 'finished' },
    ]);
    assert.equal(state.status, 'compensated');
    assert.equal(state.steps.a.status, 'skipped');
    assert.equal(state.steps.a.skipReason, 'nothing to undo: a was never applied');
    assert.deepEqual(state.currentSteps, []);
  });

  it('skippedReason reads a compensation report and nothing else', () => {
    assert.equal(skippedReason({ skipped: 'why' }), 'why');
    assert.equal(skippedReason({ now: 3, applied: false, skipped: 'why' }), 'why');
    for (const other of [undefined, null, true, 'skipped', { skipped: 1 }, { applied: false }]) {
      assert.equal(skippedReason(other), undefined, JSON.stringify(other));
    }
  });

  it('after the pivot a failure retries forward: still running, step retrying, no failure recorded', () => {
    const withPivot: Stages = [[s('a')], [s('b', { pivot: true })], [s('c')]];
    const state = run(withPivot, [
      started('a'),
      completed('a'),
      started('b'),
      completed('b'),
      started('c'),
      failed('c'),
    ]);
    assert.equal(state.pivotPassed, true);
    assert.equal(state.status, 'running');
    assert.equal(state.steps.c.status, 'retrying');
    assert.equal(state.failure, undefined);
    const after = run(withPivot, [
      started('a'),
      completed('a'),
      started('b'),
      completed('b'),
      started('c'),
      failed('c'),
      started('c'),
      completed('c'),
      { type: 'finished' },
    ]);
    assert.equal(after.status, 'completed');
    assert.equal(after.steps.c.attempts, 2);
  });

  it('a failing pivot is compensated like any step before it', () => {
    const withPivot: Stages = [[s('a')], [s('b', { pivot: true })]];
    const state = run(withPivot, [started('a'), completed('a'), started('b'), failed('b')]);
    assert.equal(state.status, 'compensating');
    assert.deepEqual(compensationPlan(withPivot, state), [['a']]);
  });

  it('never mutates the state it is given', () => {
    const before = initialState('x', stages);
    const copy = JSON.parse(JSON.stringify(before)) as SagaState;
    applyEvent(stages, before, started('a'));
    assert.deepEqual(before, copy);
  });
});

describe('saga plan: compensations', () => {
  it('runs the completed steps in reverse order, skipping the failed and the not compensable', () => {
    const stages: Stages = [[s('a')], [s('b', { compensable: false })], [s('c')], [s('d')], [s('e')]];
    const state = run(stages, [
      ...['a', 'b', 'c'].flatMap((n) => [started(n), completed(n)]),
      started('d'),
      failed('d'),
    ]);
    assert.deepEqual(compensationPlan(stages, state), [['c'], ['a']]);
  });

  it('also compensates a failed step that asks for it (compensateOnFailure), in its place in the order', () => {
    const stages: Stages = [[s('a')], [s('b', { compensateOnFailure: true })], [s('c', { compensateOnFailure: true })]];
    const state = run(stages, [started('a'), completed('a'), started('b'), failed('b')]);
    assert.deepEqual(compensationPlan(stages, state), [['b'], ['a']]);
  });

  it('compensates the completed branches of a parallel group together, the failed branch not', () => {
    const stages: Stages = [[s('a')], [s('b'), s('c'), s('d')], [s('e')]];
    const state = run(stages, [
      started('a'),
      completed('a'),
      started('b'),
      started('c'),
      started('d'),
      completed('b'),
      failed('c'),
      completed('d'),
    ]);
    assert.equal(state.status, 'compensating');
    assert.deepEqual(state.failure?.step, 'c');
    assert.deepEqual(compensationPlan(stages, state), [['b', 'd'], ['a']]);
  });

  it('the first failing branch is the failure when two branches fail', () => {
    const stages: Stages = [[s('b'), s('c')]];
    const state = run(stages, [started('b'), started('c'), failed('c', 'first'), failed('b', 'second')]);
    assert.deepEqual(state.failure, { step: 'c', error: 'first' });
    assert.deepEqual(compensationPlan(stages, state), []);
  });

  it('failure at each index in turn compensates exactly the steps before it', () => {
    const names = ['reserve', 'charge', 'publish', 'cache'];
    const stages: Stages = names.map((n) => [s(n)]);
    names.forEach((failing, index) => {
      const events = names.slice(0, index).flatMap((n) => [started(n), completed(n)]);
      const state = run(stages, [...events, started(failing), failed(failing)]);
      assert.deepEqual(compensationPlan(stages, state).flat(), names.slice(0, index).reverse(), `failing ${failing}`);
    });
  });
});

describe('saga plan: forward retry backoff', () => {
  it('doubles up to the maximum', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((r) => forwardRetryDelay(r, 500, 5000)),
      [500, 1000, 2000, 4000, 5000, 5000],
    );
  });
});
