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
// chunks, position kept in status.snapshot.rowsDone) before streaming starts.
// Outbox mode runs as a staged Pipeline instead (outbox-pipeline.ts): the next batch is polled
// while the last one is delivered; it drains before the loop pauses, stops or continues as new.
// Runs started before batched delivery went through the sink's driver (settings.kafkaDirect) did
// whole rounds in the source activity (captureAndDeliver); their histories replay on that branch,
// and from where their history ends they go on with capture and deliver (patch cdc-sink-batch).
// The body below tells the story; its steps are named functions: run-state.ts (what a run keeps
// and how the controls move it), proxies.ts (the activities), rounds.ts (one function per kind
// of round), outbox-pipeline.ts, and the steps at the end of this file.
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  patched,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SlotBinding } from '../../sdk/slot';
import { INVALID_INPUT, parseInput } from '../input';
import { PRISM_PATTERN, PRISM_STATUS } from '../search-attributes';
import { bindSlots } from '../slots';
import { CDC_CONFIG_ERROR } from './activity-io';
import {
  cdcPipelineInput,
  publicationName,
  removedInLogicalMode,
  slotName,
  type CdcPipeline,
  type CdcPipelineInput,
} from './input';
import type { CdcStatus } from './logic';
import { initialOutboxStats, type OutboxPipelineStats } from './outbox-pipeline';
import { PAUSE_TAKEN_PATCH, STREAM_PATCH } from './patches';
import type { PipelineSpec } from './pipeline';
import { cdcProxies, type CdcProxies } from './proxies';
import { nextRound, outboxPipelineRounds, runsOutboxPipeline, type RoundContext } from './rounds';
import { RunState, type CdcCarried, type CdcControl } from './run-state';
import { CDC } from './slots';

export type { CdcCarried, CdcControl } from './run-state';

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

/**
 * History budget per run, far below Temporal's limits (51,200 events, 50 MB): batches travel
 * through history, and a history page over 4 MB cannot be fetched over gRPC.
 */
const MAX_HISTORY_EVENTS = 10_000;
const MAX_HISTORY_BYTES = 2 * 1024 * 1024;

export async function cdcPipelineWorkflow(rawInput: CdcPipelineInput, carried?: CdcCarried): Promise<CdcStatus> {
  const input: CdcPipeline = parseInput(cdcPipelineInput, rawInput);
  const slots = await bindSlots(CDC);
  upsertSearchAttributes([
    { key: PRISM_PATTERN, value: CDC },
    { key: PRISM_STATUS, value: 'running' },
  ]);
  requireSinkMode(input, slots.sink);
  const calls = cdcProxies(slots.source, slots.sink, input.streamRoundMs);
  const slot = slotName(input);
  const publication = publicationName(input);
  const run = new RunState(input.pipeline, Date.now(), carried);
  const outboxStats = initialOutboxStats();
  handleControls(run, outboxStats);
  if (!carried) {
    refuseRemovedFields(rawInput);
    await prepare(input, run, calls, slot, publication);
  }
  run.showState();
  const ctx: RoundContext = { input, run, calls, slot, publication, spec: pipelineSpec(input, run.database) };

  for (let batches = 0; ; batches++) {
    await holdWhilePaused(run);
    if (run.stopRequested) break;
    if (runIsFull(input, batches)) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof cdcPipelineWorkflow>(rawInput, run.carry());
    }
    if (runsOutboxPipeline(ctx)) {
      const done = batches;
      // Stop pulling on pause, stop or a full run; what was polled is delivered and marked first.
      const stop = (polled: number) => run.paused || run.stopRequested || runIsFull(input, done + polled);
      // The loop's own increment counts one of them (so a pipeline that polled nothing counts none).
      batches += (await outboxPipelineRounds(ctx, outboxStats, stop)) - 1;
      continue;
    }
    run.record(await nextRound(ctx), Date.now());
  }
  return finish(ctx);
}

/** Before any work: the sink must offer what the input's sink mode uses. */
function requireSinkMode(input: CdcPipeline, sink: SlotBinding): void {
  const needed = input.sink === 'pubsub' ? 'pubsub_basic' : 'stream_basic';
  if (!sink.capabilities.includes(needed)) {
    throw ApplicationFailure.nonRetryable(
      `sink backend "${sink.backend}" (driver ${sink.driver}) has no ${needed}, needed by sink mode "${input.sink}"`,
      CDC_CONFIG_ERROR,
    );
  }
}

/** Status by query; pause, resume and stop by signal or by update. */
function handleControls(run: RunState, outboxStats: OutboxPipelineStats): void {
  setHandler(cdcStatusQuery, () => run.status);
  setHandler(cdcPauseSignal, () => run.take('pause'));
  setHandler(cdcResumeSignal, () => run.take('resume'));
  setHandler(cdcStopSignal, (options) => run.take(options?.drop ? 'drop' : 'stop'));
  setHandler(cdcControlUpdate, async (action) => {
    run.take(action);
    // A pause answers once it has taken effect (runs from before this answered at once).
    if (action === 'pause' && patched(PAUSE_TAKEN_PATCH)) {
      await condition(() => run.holding || !run.paused || run.stopRequested);
    }
    return run.status;
  });
  setHandler(cdcOutboxPipelineQuery, () => outboxStats);
}

/** A new pipeline may not set what streaming removed; runs from before streaming (no marker) may. */
function refuseRemovedFields(rawInput: CdcPipelineInput): void {
  const removed = removedInLogicalMode(rawInput);
  if (removed && patched(STREAM_PATCH)) throw ApplicationFailure.nonRetryable(`input.${removed}`, INVALID_INPUT);
}

/** A new pipeline's first run: the source is set up (slot, publication, snapshot staged). */
async function prepare(input: CdcPipeline, run: RunState, calls: CdcProxies, slot: string, publication: string) {
  if (input.snapshot === 'initial' && input.mode === 'logical') {
    run.status = { ...run.status, snapshot: { state: 'copying', lsn: null, rows: 0, rowsDone: 0 } };
  }
  const prepared = await calls.prepareOnce.prepare({
    mode: input.mode,
    tables: input.tables,
    slot,
    publication,
    outboxTable: input.outbox.table,
    database: input.database,
    snapshot: input.snapshot,
  });
  run.database = prepared.database;
  run.directSink = prepared.directSink ?? false;
  const snap = prepared.snapshot ?? null;
  run.status = {
    ...run.status,
    snapshot: snap && {
      state: snap.state === 'done' ? 'done' : 'delivering',
      lsn: snap.lsn,
      rows: snap.rows,
      rowsDone: snap.state === 'done' ? snap.rows : snap.deliveredUpTo,
    },
  };
}

function pipelineSpec(input: CdcPipeline, database: string): PipelineSpec {
  return {
    db: database,
    filter: input.filter,
    transforms: input.transforms,
    topicPrefix: input.topicPrefix ?? input.pipeline,
    topics: input.topics,
  };
}

/** A pause holds the loop between rounds (state paused) until resume or stop. */
async function holdWhilePaused(run: RunState): Promise<void> {
  if (!run.paused || run.stopRequested) return;
  run.holding = true;
  run.showState();
  upsertSearchAttributes([{ key: PRISM_STATUS, value: 'paused' }]);
  await condition(() => !run.paused || run.stopRequested);
  run.holding = false;
  upsertSearchAttributes([{ key: PRISM_STATUS, value: 'running' }]);
}

/** Time to continue as new: enough rounds in this run, or a history growing large. */
function runIsFull(input: CdcPipeline, batches: number): boolean {
  return batches >= input.maxBatchesPerRun || historyIsLarge();
}

function historyIsLarge(): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength > MAX_HISTORY_EVENTS || info.historySize > MAX_HISTORY_BYTES;
}

/** Stopped (and with drop, the slot, publication and staged snapshot gone). */
async function finish({ input, run, calls, slot, publication }: RoundContext): Promise<CdcStatus> {
  if (run.dropRequested && input.mode === 'logical') {
    await calls.sourceOps.dropCapture({ slot, publication });
    await calls.source.forgetSnapshot({ slot });
  }
  run.status = { ...run.status, state: 'stopped' };
  upsertSearchAttributes([{ key: PRISM_STATUS, value: run.dropRequested ? 'dropped' : 'stopped' }]);
  await condition(allHandlersFinished);
  return run.status;
}
