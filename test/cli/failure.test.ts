// describeFailure: the whole cause chain of a failed workflow, outermost first, as the CLI prints it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { RetryState } from '@temporalio/common';
import { describeFailure } from '../../src/cli/failure';

describe('describeFailure', () => {
  it('a workflow failed by an activity failed by a driver error: every link', () => {
    const driver = ApplicationFailure.create({ message: 'redis-a did not answer in 5000 ms', type: 'DriverTimeout' });
    const activity = new ActivityFailure(
      'Activity task failed',
      'reserveStock',
      '3',
      RetryState.MAXIMUM_ATTEMPTS_REACHED,
      'worker-1',
      driver,
    );
    const workflow = new WorkflowFailedError('Workflow execution failed', activity, RetryState.NON_RETRYABLE_FAILURE);
    assert.equal(
      describeFailure(workflow),
      'workflow execution failed\n' +
        '  caused by: activity reserveStock failed\n' +
        '  caused by: DriverTimeout: redis-a did not answer in 5000 ms',
    );
  });

  it("a wrapper that quotes its cause's message gets no second line for it", () => {
    const cause = new Error('Failed to connect before the deadline');
    const err = new Error(`cannot reach Temporal at 127.0.0.1:1: ${cause.message}`, { cause });
    assert.equal(describeFailure(err), 'cannot reach Temporal at 127.0.0.1:1: Failed to connect before the deadline');
  });

  it('a plain value', () => {
    assert.equal(describeFailure('boom'), 'boom');
  });
});
