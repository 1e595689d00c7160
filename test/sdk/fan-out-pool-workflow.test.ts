// FanOutPool inside a real workflow on the local Temporal server (pages of keys written in
// batches through one pool of 3 lanes), then a replay of the recorded history (determinism: the
// same commands in the same order).
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { PAYLOAD_CONVERTER } from '../../src/index';
import { uniqueName } from '../helpers/env';
import { MemoryPatternWorker } from './support/memory-pattern-worker';
import type { FanOutPoolResult } from './fixtures/fan-out-pool-slots';
import { maxOpenActivities } from './support/open-activities';

const MAIN = resolve(__dirname, 'fixtures/fan-out-pool-worker-main.js');

describe('FanOutPool in a workflow', () => {
  const setup = new MemoryPatternWorker('sdk-fan-out-pool', MAIN);
  before(() => setup.start());
  after(() => setup.stop());

  it('pages share the capped lanes, the failed batch is collected, every item accounted for, and it replays', async () => {
    const prefix = uniqueName('pool');
    // 4 pages of 5 keys, batches of 2: 3 batches per page, 12 in all; key 7 (page 1) is too long.
    const started = await setup.client.start('fanOutPoolWorkflow', [{ prefix, pages: 4, pageSize: 5, badKeyAt: 7 }], {
      pattern: 'sdk-fan-out-pool',
    });
    const result = (await started.handle.result()) as FanOutPoolResult;
    assert.deepEqual(result.failures, [{ batch: 4, offset: 7, items: 2 }]);
    assert.deepEqual(
      { succeeded: result.succeeded, failed: result.failed, batches: result.batches },
      { succeeded: 18, failed: 2, batches: 12 },
    );
    assert.ok(result.maxInFlight <= 3);

    const history = await started.handle.fetchHistory();
    const events = history.events ?? [];
    const name = (e: (typeof events)[number]) => e.activityTaskScheduledEventAttributes?.activityType?.name;
    assert.equal(events.filter((e) => name(e) === 'keyvalue_batch.setMany').length, 12);
    // The cap holds across pages, and a page is fetched while batches of earlier pages are open.
    let pageFetchedWhileSending = false;
    const maxOpen = maxOpenActivities(events, 'keyvalue_batch.setMany', (e, open) => {
      if (name(e) === 'keyvalue_basic.get' && open > 0) pageFetchedWhileSending = true;
    });
    assert.ok(maxOpen <= 3 && maxOpen >= 2, `setMany activities open at once: ${maxOpen}`);
    assert.ok(pageFetchedWhileSending, 'the next page was fetched while earlier batches ran');
    process.stdout.write(`# FanOutPool in a workflow: at most ${maxOpen} batch activities open at once (cap 3)\n`);

    await Worker.runReplayHistory(
      {
        workflowsPath: require.resolve('./fixtures/fan-out-pool-workflow'),
        dataConverter: { payloadConverterPath: PAYLOAD_CONVERTER },
      },
      history,
      started.workflowId,
    );
  });
});
