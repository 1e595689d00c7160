// Recorded multicast histories replay on the current workflow code (determinism across changes).
// Recorded on 2026-11-27 with the code before the FanOutPool and durability-channel changes
// (120 identities, pubsub channel): at-least-once (batch 7, concurrency 3, page 40) and the first
// run of an at-most-once multicast that continued as new (batch 5, concurrency 4, page 30, 2 pages
// per run). paged-continued.json: recorded on 2026-12-06 with the paged code before its body was
// split into named steps: the first run of a paged multicast (60 identities, 30 matching, page 8,
// 2 pages per run) that continued as new. A failure here means in-flight multicasts would break on
// a worker upgrade.
// Stored as JSON with bytes in base64; no server needed.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { PAYLOAD_CONVERTER } from '../../../src/runtime/workflow-bundle';
import { DIST_ROOT } from '../../helpers/worker-process';

// The histories live in the source tree; tests run from dist/, so look in both.
const DIR = [
  resolve(__dirname, 'histories'),
  resolve(__dirname, '../../../../test/patterns/multicast-registry/histories'),
].find((dir) => existsSync(dir))!;

describe('recorded multicast histories', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

  it('are there to replay', () => {
    assert.deepEqual(files.sort(), ['at-least-once.json', 'at-most-once-continued.json', 'paged-continued.json']);
  });

  for (const file of files) {
    it(`${file} replays on the current workflow bundle`, async () => {
      const history = temporal.api.history.v1.History.fromObject(JSON.parse(readFileSync(join(DIR, file), 'utf8')));
      const types = (history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
      const paged = file.startsWith('paged');
      const activity = paged ? 'multicast-registry.registry.sendPage' : 'multicast-registry.messaging.publishBatch';
      assert.ok(types.includes(activity), paged ? 'a multicast by pages' : 'a multicast with batches');
      await Worker.runReplayHistory(
        {
          workflowBundle: { codePath: `${DIST_ROOT}/workflow-bundle.js` },
          dataConverter: { payloadConverterPath: PAYLOAD_CONVERTER },
        },
        history,
      );
    });
  }
});
