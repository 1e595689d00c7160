// Runs started while settings.kafkaDirect existed produced to Kafka from the source activities:
// snapshot chunks came back already delivered, and streaming ran as captureAndDeliver rounds. Such
// a run must still replay with today's code (the patch 'cdc-sink-batch' keeps it on that branch).
// The fixture is the history of such a run (a 5-row snapshot in chunks of 2, then 8 changes,
// then stop and drop), recorded with the code at 4667c47.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasPatchMarker, historyFixture, replay, scheduledActivities } from './replay';

describe('cdc: a kafkaDirect history from before batched delivery went through the sink', () => {
  it('replays on the old branch (no patch marker in it)', async () => {
    const history = historyFixture('cdc-direct-pre-sink-batch.json');
    const activities = scheduledActivities(history);
    assert.ok(activities.includes('cdc.source.captureAndDeliver'), 'streamed by captureAndDeliver');
    assert.ok(activities.includes('cdc.source.snapshotChunk'), 'with a snapshot');
    assert.ok(!activities.includes('cdc.sink.deliver'), 'nothing went through the sink');
    assert.ok(!hasPatchMarker(history), 'recorded without the patch marker');
    await replay(history);
  });
});
