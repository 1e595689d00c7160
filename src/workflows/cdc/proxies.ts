// The CDC workflow's activity proxies: the source slot's capability operations and the pattern's
// own source and sink activities, each kind of call with the options it needs.
import { ActivityCancellationType } from '@temporalio/workflow';
import type { SlotBinding } from '../../sdk/slot';
import { useSlot, useSlotActivities } from '../slots';
import type { SinkActivities } from '../../activities/cdc/sink-activities';
import type { SourceActivities } from '../../activities/cdc/source-activities';
import { cdcSlots } from './slots';

/**
 * The pump's heartbeat timeout: short, because heartbeats are how a pause or stop reaches it (the
 * SDK sends them at most every 0.8 × this) and how a dead worker is noticed. It beats every second.
 */
const PUMP_HEARTBEAT_MS = 5_000;
/**
 * Time a pump round may take beyond streamRoundMs: it ends at a transaction boundary, so a big
 * transaction in flight is finished first (the 5 s heartbeat timeout still catches a dead worker).
 */
const PUMP_FINISH_MS = 3_600_000;

export function cdcProxies(source: SlotBinding, sink: SlotBinding, streamRoundMs: number) {
  return {
    sourceOps: useSlot(source, cdcSlots.source),
    source: useSlotActivities<SourceActivities>(source),
    // A permanent problem (missing table, no replication permission) should fail the start, not retry.
    prepareOnce: useSlotActivities<SourceActivities>(source, {
      retry: { maximumAttempts: 3, nonRetryableErrorTypes: source.activity.retry.nonRetryableErrorTypes },
    }),
    sink: useSlotActivities<SinkActivities>(sink),
    pumper: useSlotActivities<SourceActivities>(source, {
      startToCloseTimeout: streamRoundMs + PUMP_FINISH_MS,
      heartbeatTimeout: PUMP_HEARTBEAT_MS,
      // A cancelled round (pause, stop) still returns its counts: wait for them.
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    }),
  };
}

export type CdcProxies = ReturnType<typeof cdcProxies>;
