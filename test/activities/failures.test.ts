// Permanent driver errors reach the workflow at once, as non-retryable failures with their type.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PrismClient } from '../../src/client/prism-client';
import { stackEnv, uniqueName } from '../helpers/env';
import { startWorker, testConfig, type WorkerProcess } from '../helpers/worker-process';

describe('driver errors as activity failures', () => {
  const taskQueue = uniqueName('failures');
  let worker: WorkerProcess;
  let client: PrismClient;

  before(async () => {
    worker = await startWorker(
      testConfig(taskQueue, {
        backends: { tiny: { driver: 'redis', config: { url: stackEnv.redisUrl, limits: { maxValueBytes: 16 } } } },
        patterns: {
          'kv-probe': {
            slots: { store: 'tiny' },
            activity: { retry: { initial_interval: '100ms', maximum_attempts: 10 } },
          },
        },
      }),
    );
    client = await PrismClient.connect({ taskQueue });
  });

  after(async () => {
    await client.close();
    await worker.stop();
  });

  it('a value over the limit fails once with type DriverValueTooLarge, no retries', async () => {
    const started = await client.start('kvProbeWorkflow', [{ key: uniqueName('big'), value: 'x'.repeat(100) }], {
      pattern: 'kv-probe',
    });
    await assert.rejects(started.handle.result(), (err: Error) => {
      const activityFailure = (err as { cause?: { cause?: { type?: string; nonRetryable?: boolean } } }).cause;
      assert.equal(activityFailure?.cause?.type, 'DriverValueTooLarge');
      assert.equal(activityFailure?.cause?.nonRetryable, true);
      return true;
    });
    const history = await started.handle.fetchHistory();
    const failed = (history.events ?? []).filter((e) => e.activityTaskFailedEventAttributes);
    assert.equal(failed.length, 1);
    const started_ = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes);
    assert.equal(started_[0].activityTaskStartedEventAttributes?.attempt, 1, 'failed on its first attempt');

    const line = worker
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === 'driver call failed' && l.workflowId === started.workflowId);
    assert.ok(line, 'a structured log line for the failed call');
    assert.equal(line.backend, 'tiny');
    assert.equal(line.activity, 'keyvalue_basic.set');
    assert.equal(line.errorType, 'DriverValueTooLarge');
    assert.ok(typeof line.activityId === 'string');
  });
});
