// fanOut and Pipeline inside a real workflow on the local Temporal server, then a replay of the
// recorded history (determinism: the same commands in the same order).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { PAYLOAD_CONVERTER } from '../../src/index';
import { uniqueName } from '../helpers/env';
import { MemoryPatternWorker } from './support/memory-pattern-worker';
import type { PrimitivesResult } from './fixtures/primitives-slots';
import { SDK_WORKER_MAIN } from './support/measured-worker';
import { maxOpenActivities } from './support/open-activities';

describe('concurrency primitives in a workflow', () => {
  const setup = new MemoryPatternWorker('sdk-primitives', SDK_WORKER_MAIN);
  before(() => setup.start());
  after(() => setup.stop());

  it('fans out in capped batches, collects the failed batch, pipes the rest in order, and replays', async () => {
    const prefix = uniqueName('prim');
    const started = await setup.client.start('primitivesWorkflow', [{ prefix, count: 14, badKeyAt: 5 }], {
      pattern: 'sdk-primitives',
    });
    const result = (await started.handle.result()) as PrimitivesResult;
    const goodIndexes = [0, 1, 2, 3, 8, 9, 10, 11, 12, 13];
    assert.deepEqual(result.failures, [{ batch: 1, offset: 4, items: 4 }]);
    assert.equal(result.succeeded, 10);
    assert.equal(result.failed, 4);
    assert.deepEqual(
      result.copied,
      goodIndexes.map((i) => `value of ${prefix}:${i}`),
    );

    const history = await started.handle.fetchHistory();
    const events = history.events ?? [];
    const scheduled = events.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
    // 4 batches (one retried once: 2 attempts are one scheduled event), then 10 reads and 10 copies.
    assert.equal(scheduled.filter((n) => n === 'keyvalue_batch.setMany').length, 4);
    assert.equal(scheduled.filter((n) => n === 'keyvalue_basic.get').length, 10);
    assert.equal(scheduled.filter((n) => n === 'keyvalue_basic.set').length, 10);

    // The cap: never more than 3 setMany activities scheduled and not yet closed.
    const maxOpen = maxOpenActivities(events, 'keyvalue_batch.setMany');
    assert.ok(maxOpen <= 3 && maxOpen >= 2, `setMany activities open at once: ${maxOpen}`);
    process.stdout.write(`# fanOut in a workflow: at most ${maxOpen} batch activities open at once (cap 3)\n`);

    await Worker.runReplayHistory(
      {
        workflowsPath: require.resolve('./fixtures/primitives-workflow'),
        dataConverter: { payloadConverterPath: PAYLOAD_CONVERTER },
      },
      history,
      started.workflowId,
    );
  });
});
