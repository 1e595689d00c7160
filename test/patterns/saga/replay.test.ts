// Order saga histories recorded with the code before ledger_basic (workflow-id idempotency keys,
// testFaults in the input, no outcome record) replay on the current workflow code: sagas in flight
// during an upgrade go on as they started (the patched('order-saga-keyed-by-order-id') branch).
// Recorded on 2026-12-06: a completed order and one compensated after its cache step failed.
// Stored as JSON with bytes in base64; no server needed.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { PAYLOAD_CONVERTER } from '../../../src/runtime/workflow-bundle';
import { ORDER_KEYS_PATCH } from '../../../src/workflows/saga/workflow';
import { DIST_ROOT } from '../../helpers/worker-process';

// The histories live in the source tree; tests run from dist/, so look in both.
const DIR = [resolve(__dirname, 'histories'), resolve(__dirname, '../../../../test/patterns/saga/histories')].find(
  (dir) => existsSync(dir),
)!;

describe('recorded order saga histories', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

  it('are there to replay', () => {
    assert.deepEqual(files.sort(), ['compensated-cache-failed.json', 'completed.json']);
  });

  for (const file of files) {
    it(`${file} replays on the current workflow bundle`, async () => {
      const text = readFileSync(join(DIR, file), 'utf8');
      assert.ok(!text.includes(ORDER_KEYS_PATCH), 'recorded before the patch');
      const history = temporal.api.history.v1.History.fromObject(JSON.parse(text));
      const types = (history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
      assert.ok(types.includes('saga.orders.charge'), 'an order saga');
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
