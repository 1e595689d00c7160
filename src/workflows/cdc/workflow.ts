// One long-running workflow per CDC pipeline. In logical mode it holds positions and counters,
// never rows: each round is one pump activity on the source backend that streams the slot's
// changes (logical replication), runs them through the pipeline, delivers them through the sink
// backend's guarded handle and confirms a position only after the sink accepted everything before
// it (see activities/cdc/pump.ts); the round returns its counts after streamRoundMs, or when
// pause/stop cancels it, and the workflow records them. A crash before a confirm repeats changes:
// at-least-once, with stable event ids. Runs from before streaming read a batch per round by SQL
// (capture), delivered it (deliver) and confirmed it (confirm); their histories replay on that
// branch and go on streaming from where they end (patch cdc-stream).
// Pause / resume / stop by signal or update, status by query; continue-as-new keeps history short.
// A pause reads "pausing" until the round in flight has returned, "paused" once nothing is delivered.
// With snapshot: 'initial', the first rounds deliver the snapshot's staged rows ('r' events, in
// chunks, position kept in status.snapshot.rowsDone) before streaming starts (cdc-snapshot.ts).
// Outbox mode runs as a staged Pipeline instead (outbox-pipeline.ts): the next batch is polled
// while the last one is delivered; it drains before the loop pauses, stops or continues as new.
// Runs started before batched delivery went through the sink's driver (settings.kafkaDirect) did
// whole rounds in the source activity (captureAndDeliver); their histories replay on that branch,
// and from where their history ends they go on with capture and deliver (patch cdc-sink-batch).
import {
  ActivityCancellationType,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  patched,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  isCancellation,
} from '@temporalio/workflow';
import { INVALID_INPUT, parseInput } from '../input';
import { PRISM_PATTERN, PRISM_STATUS } from '../search-attributes';
import { bindSlots, useSlot, useSlotActivities } from '../slots';
import type { CdcSinkActivities } from '../../activities/cdc/sink-activities';
import type { CdcSourceActivities } from '../../activities/cdc/source-activities';
import { CDC_CONFIG_ERROR, type DeliverResult, type OutboxLagStatus, type PumpResult } from './activity-io';
import type { OutboundMessage } from './events';
import { initialOutboxStats, runOutboxPipeline, type OutboxPipelineStats } from './outbox-pipeline';
import {
  cdcPipelineInput,
  publicationName,
  removedInLogicalMode,
  slotName,
  type CdcPipeline,
  type CdcPipelineInput,
} from './input';
import type { PipelineSpec } from './pipeline';
import { CDC, cdcSlots } from './slots';
import { initialStatus, recordBatch, type CdcStatus, type RateWindow } from './logic';

export type CdcControl = 'pause' | 'resume' | 'stop' | 'drop';

export const cdcStatusQuery = defineQuery<CdcStatus>('status');
export const cdcPauseSignal = defineSignal('pause');
export const cdcResumeSignal = defineSignal('resume');
/** drop: also drop the replication slot and publication before finishing. */
export const cdcStopSignal = defineSignal<[{ drop?: boolean }?]>('stop');
/**
 * The same controls as an update: returns the status once the control is taken in, and a pause
 * once it has taken effect (the round in flight returned: state paused, nothing delivered after).
 */
export const cdcControlUpdate = defineUpdate<CdcStatus, [CdcControl]>('control');
/** Outbox mode, this run: how far polling ran ahead of delivery (zeros on the pre-pipeline path). */
export const cdcOutboxPipelineQuery = defineQuery<OutboxPipelineStats>('outboxPipeline');

/** What one run hands the next when continuing as new. */
export interface CdcCarried {
  status: CdcStatus;
  window: RateWindow;
  paused: boolean;
  database: string;
  /** Only from runs before the cdc-sink-batch patch (settings.kafkaDirect). */
  directSink?: boolean;
}

/**
 * History budget per run, far below Temporal's limits (51,200 events, 50 MB): batches travel
 * through history, and a history page over 4 MB cannot be fetched over gRPC.
 */
const MAX_HISTORY_EVENTS = 10_000;
const MAX_HISTORY_BYTES = 2 * 1024 * 1024;
/** How long one captureAndDeliver round runs before reporting back (pause/stop wait for it). */
const DIRECT_ROUND_MS = 5_000;
/** Runs that stream (pump rounds) instead of reading a batch per activity; see the header. */
const STREAM_PATCH = 'cdc-stream';
/** Runs whose pause update answers once the pause has taken effect, not as it is taken in. */
const PAUSE_TAKEN_PATCH = 'cdc-pause-taken';
/** A pump round returns after this many changes even before streamRoundMs. */
const PUMP_MAX_CHANGES = 1_000_000;
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

export async function cdcPipelineWorkflow(rawInput: CdcPipelineInput, carried?: CdcCarried): Promise<CdcStatus> {
  const input: CdcPipeline = parseInput(cdcPipelineInput, rawInput);
  const slots = await bindSlots(CDC);
  upsertSearchAttributes([
    { key: PRISM_PATTERN, value: CDC },
    { key: PRISM_STATUS, value: 'running' },
  ]);

  // Before any work: the sink must offer what the input's sink mode uses.
  const needed = input.sink === 'pubsub' ? 'pubsub_basic' : 'stream_basic';
  if (!slots.sink.capabilities.includes(needed)) {
    throw ApplicationFailure.nonRetryable(
      `sink backend "${slots.sink.backend}" (driver ${slots.sink.driver}) has no ${needed}, needed by sink mode "${input.sink}"`,
      CDC_CONFIG_ERROR,
    );
  }

  const sourceOps = useSlot(slots.source, cdcSlots.source);
  const source = useSlotActivities<CdcSourceActivities>(slots.source);
  // A permanent problem (missing table, no replication permission) should fail the start, not retry.
  const prepareOnce = useSlotActivities<CdcSourceActivities>(slots.source, {
    retry: { maximumAttempts: 3, nonRetryableErrorTypes: slots.source.activity.retry.nonRetryableErrorTypes },
  });
  const sink = useSlotActivities<CdcSinkActivities>(slots.sink);
  const pumper = useSlotActivities<CdcSourceActivities>(slots.source, {
    startToCloseTimeout: input.streamRoundMs + PUMP_FINISH_MS,
    heartbeatTimeout: PUMP_HEARTBEAT_MS,
    // A cancelled round (pause, stop) still returns its counts: wait for them.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });

  const slot = slotName(input);
  const publication = publicationName(input);
  let paused = carried?.paused ?? false;
  let stopRequested = false;
  let dropRequested = false;
  let status: CdcStatus = carried
    ? { ...carried.status, run: carried.status.run + 1 }
    : initialStatus(input.pipeline, Date.now());
  let window: RateWindow = carried?.window ?? [];
  /** The loop is held by a pause: no round in flight, nothing being delivered. */
  let holding = false;
  // Paused only once nothing is delivered any more: until the round in flight has returned (a
  // cancellation reaches the pump with its next heartbeat, seconds later), the pipeline is pausing.
  const stateName = (): CdcStatus['state'] =>
    stopRequested ? 'stopping' : paused ? (holding ? 'paused' : 'pausing') : 'running';

  const control = (action: CdcControl): void => {
    if (action === 'pause') paused = true;
    else if (action === 'resume') paused = false;
    else {
      stopRequested = true;
      dropRequested ||= action === 'drop';
    }
    if (status.state !== 'starting') status = { ...status, state: stateName() };
  };
  setHandler(cdcStatusQuery, () => status);
  setHandler(cdcPauseSignal, () => control('pause'));
  setHandler(cdcResumeSignal, () => control('resume'));
  setHandler(cdcStopSignal, (options) => control(options?.drop ? 'drop' : 'stop'));
  setHandler(cdcControlUpdate, async (action) => {
    control(action);
    // A pause answers once it has taken effect (runs from before this answered at once).
    if (action === 'pause' && patched(PAUSE_TAKEN_PATCH)) await condition(() => holding || !paused || stopRequested);
    return status;
  });
  const outboxStats = initialOutboxStats();
  setHandler(cdcOutboxPipelineQuery, () => outboxStats);

  let database = carried?.database ?? '';
  let directSink = carried?.directSink ?? false;
  // A new pipeline may not set what streaming removed; runs from before streaming (no marker) may.
  const removed = carried ? null : removedInLogicalMode(rawInput);
  if (removed && patched(STREAM_PATCH)) throw ApplicationFailure.nonRetryable(`input.${removed}`, INVALID_INPUT);
  if (!carried) {
    if (input.snapshot === 'initial' && input.mode === 'logical') {
      status = { ...status, snapshot: { state: 'copying', lsn: null, rows: 0, rowsDone: 0 } };
    }
    const prepared = await prepareOnce.prepare({
      mode: input.mode,
      tables: input.tables,
      slot,
      publication,
      outboxTable: input.outbox.table,
      database: input.database,
      snapshot: input.snapshot,
    });
    database = prepared.database;
    directSink = prepared.directSink ?? false;
    const snap = prepared.snapshot ?? null;
    status = {
      ...status,
      snapshot: snap && {
        state: snap.state === 'done' ? 'done' : 'delivering',
        lsn: snap.lsn,
        rows: snap.rows,
        rowsDone: snap.state === 'done' ? snap.rows : snap.deliveredUpTo,
      },
    };
  }
  status = { ...status, state: stateName() };

  const spec: PipelineSpec = {
    db: database,
    filter: input.filter,
    transforms: input.transforms,
    topicPrefix: input.topicPrefix ?? input.pipeline,
    topics: input.topics,
  };

  const deliver = async (messages: OutboundMessage[]): Promise<DeliverResult> =>
    messages.length === 0
      ? { delivered: 0, resumed: 0, lagSeconds: 0 }
      : sink.deliver({ pipeline: input.pipeline, mode: input.sink, messages });

  /** True while a pre-patch run's direct rounds replay; false for good once past them. */
  const replayingDirectRounds = (): boolean => {
    if (!patched('cdc-sink-batch')) return true;
    directSink = false;
    return false;
  };

  /** One pump round, cancelled by pause or stop (it then returns what it did so far). */
  const pumpRound = async (): Promise<PumpResult> => {
    let done = false;
    const scope = new CancellationScope();
    const running = scope
      .run(() =>
        pumper.pump({
          pipeline: input.pipeline,
          slot,
          publication,
          sinkMode: input.sink,
          batchSize: input.batchSize,
          spec,
          forMs: input.streamRoundMs,
          maxChanges: PUMP_MAX_CHANGES,
        }),
      )
      .finally(() => {
        done = true;
      });
    await condition(() => done || paused || stopRequested);
    if (!done) scope.cancel();
    try {
      return await running;
    } catch (err) {
      // Cancelled before it could report: nothing was recorded, the slot keeps its position.
      if (!isCancellation(err)) throw err;
      return { changesRead: 0, delivered: 0, batches: 0, position: null, lagBytes: null, lagSeconds: 0 };
    }
  };

  const batchLimitReached = (batches: number): boolean => batches >= input.maxBatchesPerRun || historyIsLarge();

  for (let batches = 0; ; batches++) {
    if (paused && !stopRequested) {
      holding = true;
      status = { ...status, state: stateName() };
      upsertSearchAttributes([{ key: PRISM_STATUS, value: 'paused' }]);
      await condition(() => !paused || stopRequested);
      holding = false;
      upsertSearchAttributes([{ key: PRISM_STATUS, value: 'running' }]);
    }
    if (stopRequested) break;
    if (batchLimitReached(batches)) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof cdcPipelineWorkflow>(rawInput, { status, window, paused, database, directSink });
    }

    // Outbox mode overlaps poll, deliver and markPublished. Runs that started before this change
    // took the loop below one batch at a time; their histories lack the marker and replay on it
    // (it can become deprecatePatch once no such run is left).
    if (input.mode === 'outbox' && status.snapshot?.state !== 'delivering' && patched('cdc-outbox-pipeline')) {
      const done = batches;
      const ran = await runOutboxPipeline({
        source,
        request: {
          pipeline: input.pipeline,
          table: input.outbox.table,
          limit: input.batchSize,
          waitMs: input.idleWaitMs,
          spec,
        },
        deliver,
        // Stop pulling on pause, stop or a full run; what was polled is delivered and marked first.
        shouldStop: (polled) => paused || stopRequested || batchLimitReached(done + polled),
        record: ({ batch, delivered: d }) => {
          ({ status, window } = recordBatch(status, window, {
            nowMs: Date.now(),
            changesRead: batch.ids.length,
            delivered: d.delivered + d.resumed,
            position: batch.ids.at(-1) ?? null,
            lagBytes: null,
            lagSeconds: d.lagSeconds,
            ...(batch.lag ? { outboxLag: batch.lag } : {}),
          }));
        },
        stats: outboxStats,
      });
      // The loop's own increment counts one of them (so a pipeline that polled nothing counts none).
      batches += ran - 1;
      continue;
    }

    let changesRead: number;
    let position: string | null;
    let lagBytes: number | null;
    let outboxLag: OutboxLagStatus | undefined;
    let spanMs: number | undefined;
    let delivered: DeliverResult;
    const snapshot = status.snapshot;
    if (snapshot?.state === 'delivering') {
      // The snapshot's rows first: streaming starts at the slot's consistent point after them.
      const chunk = await source.snapshotChunk({
        pipeline: input.pipeline,
        slot,
        after: snapshot.rowsDone,
        limit: input.snapshotChunkSize,
        spec,
      });
      // A chunk of an older history was produced by the source activity itself (delivered > 0,
      // no messages); today's chunks carry their messages to the sink.
      delivered =
        chunk.messages.length === 0 && chunk.delivered > 0
          ? { delivered: chunk.delivered, resumed: 0, lagSeconds: 0 }
          : await deliver(chunk.messages);
      if (chunk.rowsRead === 0) await source.finishSnapshot({ slot });
      status = {
        ...status,
        snapshot: { ...snapshot, state: chunk.rowsRead === 0 ? 'done' : 'delivering', rowsDone: chunk.upTo },
      };
      changesRead = chunk.rowsRead;
      position = null;
      lagBytes = null;
    } else if (input.mode === 'logical' && directSink && replayingDirectRounds()) {
      // Replaying a run from before the patch: one activity per round produced to Kafka itself.
      const round = await source.captureAndDeliver({
        pipeline: input.pipeline,
        slot,
        publication,
        limit: input.batchSize,
        waitMs: input.idleWaitMs,
        spec,
        forMs: DIRECT_ROUND_MS,
      });
      ({ changesRead, position, lagBytes } = round);
      delivered = { delivered: round.delivered, resumed: 0, lagSeconds: round.lagSeconds };
    } else if (input.mode === 'logical' && patched(STREAM_PATCH)) {
      const roundStartedAt = Date.now();
      const round = await pumpRound();
      spanMs = Date.now() - roundStartedAt;
      changesRead = round.changesRead;
      position = round.position;
      lagBytes = round.lagBytes;
      delivered = { delivered: round.delivered, resumed: 0, lagSeconds: round.lagSeconds };
    } else if (input.mode === 'logical') {
      const batch = await source.capture({
        pipeline: input.pipeline,
        slot,
        publication,
        limit: input.batchSize,
        waitMs: input.idleWaitMs,
        spec,
      });
      delivered = await deliver(batch.messages);
      // Only now: the sink has accepted every event up to this position.
      if (batch.position !== null && batch.position !== status.lastLsn) {
        await sourceOps.confirm({ slot, lsn: batch.position });
      }
      ({ changesRead, position, lagBytes } = batch);
    } else {
      const batch = await source.pollOutbox({
        pipeline: input.pipeline,
        table: input.outbox.table,
        limit: input.batchSize,
        waitMs: input.idleWaitMs,
        spec,
      });
      delivered = await deliver(batch.messages);
      if (batch.ids.length > 0) await source.markPublished({ table: input.outbox.table, ids: batch.ids });
      changesRead = batch.ids.length;
      position = batch.ids.at(-1) ?? null;
      lagBytes = null;
      outboxLag = batch.lag;
    }
    ({ status, window } = recordBatch(status, window, {
      nowMs: Date.now(),
      changesRead,
      delivered: delivered.delivered + delivered.resumed,
      position,
      lagBytes,
      lagSeconds: delivered.lagSeconds,
      ...(outboxLag ? { outboxLag } : {}),
      ...(spanMs === undefined ? {} : { spanMs }),
    }));
  }

  if (dropRequested && input.mode === 'logical') {
    await sourceOps.dropCapture({ slot, publication });
    await source.forgetSnapshot({ slot });
  }
  status = { ...status, state: 'stopped' };
  upsertSearchAttributes([{ key: PRISM_STATUS, value: dropRequested ? 'dropped' : 'stopped' }]);
  await condition(allHandlersFinished);
  return status;
}

function historyIsLarge(): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength > MAX_HISTORY_EVENTS || info.historySize > MAX_HISTORY_BYTES;
}
