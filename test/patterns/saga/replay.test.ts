// Recorded order saga histories replay on the current workflow code, so sagas in flight during an
// upgrade go on as they started:
// - completed.json, compensated-cache-failed.json: before ledger_basic (workflow-id idempotency
//   keys, testFaults in the input, no outcome record; no patch marker), recorded on 2026-12-06;
// - keyed-*.json: orderId keys and outcome records looked up and written by activities on the
//   orders backend's task queue (patch 'order-saga-keyed-by-order-id'), recorded on 2026-12-06;
// - lean-*.json: the outcome looked up and written by local activities, search attributes
//   updated once per workflow task (patch 'order-saga-lean-history'), recorded on 2026-12-06.
// Each is a completed order and one compensated after its cache step failed. Stored as JSON with
// bytes in base64; no server needed.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { PAYLOAD_CONVERTER } from '../../../src/runtime/workflow-bundle';
import { LEAN_HISTORY_PATCH, ORDER_KEYS_PATCH } from '../../../src/workflows/saga/workflow';
import { DIST_ROOT } from '../../helpers/worker-process';

// The histories live in the source tree; tests run from dist/, so look in both.
const DIR = [resolve(__dirname, 'histories'), resolve(__dirname, '../../../../test/patterns/saga/histories')].find(
  (dir) => existsSync(dir),
)!;

/** The patch markers each history was recorded with, and whether its outcome calls were activities. */
const RECORDED: Record<string, { patches: string[]; outcomeActivities: boolean }> = {
  'completed.json': { patches: [], outcomeActivities: false },
  'compensated-cache-failed.json': { patches: [], outcomeActivities: false },
  'keyed-completed.json': { patches: [ORDER_KEYS_PATCH], outcomeActivities: true },
  'keyed-compensated-cache-failed.json': { patches: [ORDER_KEYS_PATCH], outcomeActivities: true },
  'lean-completed.json': { patches: [LEAN_HISTORY_PATCH], outcomeActivities: false },
  'lean-compensated-cache-failed.json': { patches: [LEAN_HISTORY_PATCH], outcomeActivities: false },
};

function patchIds(history: temporal.api.history.v1.IHistory): string[] {
  return (history.events ?? []).flatMap((e) => {
    const marker = e.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_patch') return [];
    const data = marker.details?.['patch-data']?.payloads?.[0]?.data;
    return data ? [(JSON.parse(Buffer.from(data).toString('utf8')) as { id: string }).id] : [];
  });
}

describe('recorded order saga histories', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

  it('are there to replay', () => {
    assert.deepEqual(files.sort(), Object.keys(RECORDED).sort());
  });

  for (const file of files) {
    it(`${file} replays on the current workflow bundle`, async () => {
      const expected = RECORDED[file];
      const history = temporal.api.history.v1.History.fromObject(JSON.parse(readFileSync(join(DIR, file), 'utf8')));
      assert.deepEqual(patchIds(history), expected.patches, 'recorded with these patches');
      const types = (history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
      assert.ok(types.includes('saga.orders.charge'), 'an order saga');
      assert.equal(types.includes('saga.orders.orderOutcome'), expected.outcomeActivities, 'outcome lookups');
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
