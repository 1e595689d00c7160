// Outbox mode before it ran as a Pipeline polled, delivered and marked one batch at a time. A run
// started then must still replay with today's code: the patch 'cdc-outbox-pipeline' keeps it on
// the old loop. The fixture is the history of such a run (outbox.test.ts's first case, recorded
// with the code at af10ce5: two batches with rows, then an empty poll, then stop).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasPatchMarker, historyFixture, replay, scheduledActivities } from './replay';

describe('cdc: outbox history from before the pipeline', () => {
  it('replays on the old loop (no patch marker in it)', async () => {
    const history = historyFixture('cdc-outbox-pre-pipeline.json');
    const activities = scheduledActivities(history);
    assert.ok(
      activities.includes('cdc.source.pollOutbox') && activities.includes('cdc.source.markPublished'),
      'an outbox run',
    );
    assert.ok(!hasPatchMarker(history), 'recorded without the patch marker');
    await replay(history);
  });
});
