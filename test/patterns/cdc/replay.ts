// Replay of recorded CDC histories (test/fixtures/histories) with today's workflow bundle.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { PAYLOAD_CONVERTER, PREBUILT_BUNDLE } from '../../../src/runtime/workflow-bundle';
import { DIST_ROOT } from '../../helpers/worker-process';

export type History = temporal.api.history.v1.History;

export function historyFixture(file: string): History {
  const path = resolve(DIST_ROOT, '../test/fixtures/histories', file);
  return temporal.api.history.v1.History.fromObject(JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>);
}

/** Activity types scheduled, in order. */
export function scheduledActivities(history: History): string[] {
  return (history.events ?? [])
    .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
    .filter((name): name is string => !!name);
}

export function hasPatchMarker(history: History): boolean {
  return (history.events ?? []).some((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch');
}

/** Fails with a nondeterminism error when today's code would issue other commands. */
export function replay(history: History): Promise<void> {
  return Worker.runReplayHistory(
    { workflowBundle: { codePath: PREBUILT_BUNDLE }, dataConverter: { payloadConverterPath: PAYLOAD_CONVERTER } },
    history,
  );
}
