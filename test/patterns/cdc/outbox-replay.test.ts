// Outbox mode before it ran as a Pipeline polled, delivered and marked one batch at a time. A run
// started then must still replay with today's code: the patch 'cdc-outbox-pipeline' keeps it on
// the old loop. The fixture is the history of such a run (outbox.test.ts's first case, recorded
// with the code at af10ce5: two batches with rows, then an empty poll, then stop).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { PAYLOAD_CONVERTER, PREBUILT_BUNDLE } from '../../../src/runtime/workflow-bundle';
import { DIST_ROOT } from '../../helpers/worker-process';

const FIXTURE = resolve(DIST_ROOT, '../test/fixtures/histories/cdc-outbox-pre-pipeline.json');
const History = temporal.api.history.v1.History;

describe('cdc: outbox history from before the pipeline', () => {
  it('replays on the old loop (no patch marker in it)', async () => {
    const history = History.fromObject(JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, unknown>);
    const events = history.events ?? [];
    const activities = events
      .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
      .filter((name): name is string => !!name);
    assert.ok(
      activities.includes('cdc.source.pollOutbox') && activities.includes('cdc.source.markPublished'),
      'an outbox run',
    );
    assert.ok(
      !events.some((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch'),
      'recorded without the patch marker',
    );
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: PREBUILT_BUNDLE }, dataConverter: { payloadConverterPath: PAYLOAD_CONVERTER } },
      history,
    );
  });
});
