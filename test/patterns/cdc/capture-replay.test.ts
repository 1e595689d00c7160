// Runs started before streaming read one batch per activity by SQL (capture), delivered it
// (deliver) and confirmed its position (cdc_source.confirm), with idleWaitMs in their input. Such
// a run must still replay with today's code: without the patch marker 'cdc-stream' it stays on that
// branch, and its idleWaitMs is not refused. The fixture is the history of such a run (10 changes
// in batches of 3, then stop and drop), recorded with the code at f2bda56.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasPatchMarker, historyFixture, replay, scheduledActivities } from './replay';

describe('cdc: a history from before streaming', () => {
  it('replays on the capture, deliver and confirm branch (no patch marker in it)', async () => {
    const history = historyFixture('cdc-capture-pre-stream.json');
    const activities = scheduledActivities(history);
    assert.ok(activities.includes('cdc.source.capture'), 'read by capture');
    assert.ok(activities.includes('cdc.sink.deliver'), 'delivered by deliver');
    assert.ok(!activities.includes('cdc.source.pump'), 'never pumped');
    assert.ok(!hasPatchMarker(history), 'recorded without the patch marker');
    await replay(history);
  });
});
