// The rounds of the CDC workflow's loop, one function per kind: a chunk of the initial snapshot, a
// streaming (pump) round, the outbox's staged pipeline or single poll, and the rounds only older
// histories replay (a captured batch, a direct round). Each returns what the status records.
import { CancellationScope, condition, isCancellation, patched } from '@temporalio/workflow';
import type { CaptureRequest, DeliverResult, PumpResult } from './activity-io';
import type { OutboundMessage } from './events';
import type { CdcPipeline } from './input';
import type { SnapshotStatus } from './logic';
import { runOutboxPipeline, type OutboxPipelineStats } from './outbox-pipeline';
import { OUTBOX_PIPELINE_PATCH, SINK_BATCH_PATCH, STREAM_PATCH } from './patches';
import type { PipelineSpec } from './pipeline';
import type { CdcProxies } from './proxies';
import type { RoundOutcome, RunState } from './run-state';

/** How long one captureAndDeliver round runs before reporting back (pause/stop wait for it). */
const DIRECT_ROUND_MS = 5_000;
/** A pump round returns after this many changes even before streamRoundMs. */
const PUMP_MAX_CHANGES = 1_000_000;

/** What every round reads: the pipeline, this run's state and the activities. */
export interface RoundContext {
  input: CdcPipeline;
  run: RunState;
  calls: CdcProxies;
  slot: string;
  publication: string;
  spec: PipelineSpec;
}

/**
 * Outbox mode overlaps poll, deliver and markPublished (outboxPipelineRounds). Runs that started
 * before this change took nextRound one batch at a time; their histories lack the marker and
 * replay on it (it can become deprecatePatch once no such run is left).
 */
export function runsOutboxPipeline({ input, run }: RoundContext): boolean {
  return input.mode === 'outbox' && run.status.snapshot?.state !== 'delivering' && patched(OUTBOX_PIPELINE_PATCH);
}

/**
 * Polls, delivers and marks outbox batches until `shouldStop` (checked before each poll with the
 * polls so far); what was polled is delivered and marked first. Returns the number of batches.
 */
export function outboxPipelineRounds(
  ctx: RoundContext,
  stats: OutboxPipelineStats,
  shouldStop: (polled: number) => boolean,
): Promise<number> {
  const { input, run, calls, spec } = ctx;
  return runOutboxPipeline({
    source: calls.source,
    request: {
      pipeline: input.pipeline,
      table: input.outbox.table,
      limit: input.batchSize,
      waitMs: input.idleWaitMs,
      spec,
    },
    deliver: (messages) => deliver(ctx, messages),
    shouldStop,
    record: ({ batch, delivered }) =>
      run.record(
        {
          changesRead: batch.ids.length,
          delivered,
          position: batch.ids.at(-1) ?? null,
          lagBytes: null,
          outboxLag: batch.lag,
        },
        Date.now(),
      ),
    stats,
  });
}

/** The next round of any other kind: the snapshot's rows first, then the mode's rounds. */
export function nextRound(ctx: RoundContext): Promise<RoundOutcome> {
  const { input, run } = ctx;
  const snapshot = run.status.snapshot;
  // The snapshot's rows first: streaming starts at the slot's consistent point after them.
  if (snapshot?.state === 'delivering') return snapshotRound(ctx, snapshot);
  // Replaying a run from before the patch: one activity per round produced to Kafka itself.
  if (input.mode === 'logical' && run.directSink && replayingDirectRounds(run)) return directRound(ctx);
  if (input.mode === 'logical' && patched(STREAM_PATCH)) return streamRound(ctx);
  if (input.mode === 'logical') return captureRound(ctx);
  return outboxRound(ctx);
}

async function deliver({ input, calls }: RoundContext, messages: OutboundMessage[]): Promise<DeliverResult> {
  return messages.length === 0
    ? { delivered: 0, resumed: 0, lagSeconds: 0 }
    : calls.sink.deliver({ pipeline: input.pipeline, mode: input.sink, messages });
}

/** True while a pre-patch run's direct rounds replay; false for good once past them. */
function replayingDirectRounds(run: RunState): boolean {
  if (!patched(SINK_BATCH_PATCH)) return true;
  run.directSink = false;
  return false;
}

async function snapshotRound(ctx: RoundContext, snapshot: SnapshotStatus): Promise<RoundOutcome> {
  const { input, run, calls, slot, spec } = ctx;
  const chunk = await calls.source.snapshotChunk({
    pipeline: input.pipeline,
    slot,
    after: snapshot.rowsDone,
    limit: input.snapshotChunkSize,
    spec,
  });
  // A chunk of an older history was produced by the source activity itself (delivered > 0,
  // no messages); today's chunks carry their messages to the sink.
  const delivered =
    chunk.messages.length === 0 && chunk.delivered > 0
      ? { delivered: chunk.delivered, resumed: 0, lagSeconds: 0 }
      : await deliver(ctx, chunk.messages);
  if (chunk.rowsRead === 0) await calls.source.finishSnapshot({ slot });
  run.status = {
    ...run.status,
    snapshot: { ...snapshot, state: chunk.rowsRead === 0 ? 'done' : 'delivering', rowsDone: chunk.upTo },
  };
  return { changesRead: chunk.rowsRead, delivered, position: null, lagBytes: null };
}

/** A batch of the slot's changes read by SQL: what capture rounds (and direct rounds) ask for. */
function captureRequest({ input, slot, publication, spec }: RoundContext): CaptureRequest {
  return { pipeline: input.pipeline, slot, publication, limit: input.batchSize, waitMs: input.idleWaitMs, spec };
}

async function directRound(ctx: RoundContext): Promise<RoundOutcome> {
  const round = await ctx.calls.source.captureAndDeliver({ ...captureRequest(ctx), forMs: DIRECT_ROUND_MS });
  return {
    changesRead: round.changesRead,
    delivered: { delivered: round.delivered, resumed: 0, lagSeconds: round.lagSeconds },
    position: round.position,
    lagBytes: round.lagBytes,
  };
}

async function streamRound(ctx: RoundContext): Promise<RoundOutcome> {
  const roundStartedAt = Date.now();
  const round = await pumpRound(ctx);
  return {
    changesRead: round.changesRead,
    delivered: { delivered: round.delivered, resumed: 0, lagSeconds: round.lagSeconds },
    position: round.position,
    lagBytes: round.lagBytes,
    spanMs: Date.now() - roundStartedAt,
  };
}

/** One pump round, cancelled by pause or stop (it then returns what it did so far). */
async function pumpRound({ input, run, calls, slot, publication, spec }: RoundContext): Promise<PumpResult> {
  let done = false;
  const scope = new CancellationScope();
  const running = scope
    .run(() =>
      calls.pumper.pump({
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
  await condition(() => done || run.paused || run.stopRequested);
  if (!done) scope.cancel();
  try {
    return await running;
  } catch (err) {
    // Cancelled before it could report: nothing was recorded, the slot keeps its position.
    if (!isCancellation(err)) throw err;
    return { changesRead: 0, delivered: 0, batches: 0, position: null, lagBytes: null, lagSeconds: 0 };
  }
}

async function captureRound(ctx: RoundContext): Promise<RoundOutcome> {
  const { run, calls, slot } = ctx;
  const batch = await calls.source.capture(captureRequest(ctx));
  const delivered = await deliver(ctx, batch.messages);
  // Only now: the sink has accepted every event up to this position.
  if (batch.position !== null && batch.position !== run.status.lastLsn) {
    await calls.sourceOps.confirm({ slot, lsn: batch.position });
  }
  return { changesRead: batch.changesRead, delivered, position: batch.position, lagBytes: batch.lagBytes };
}

async function outboxRound(ctx: RoundContext): Promise<RoundOutcome> {
  const { input, calls, spec } = ctx;
  const batch = await calls.source.pollOutbox({
    pipeline: input.pipeline,
    table: input.outbox.table,
    limit: input.batchSize,
    waitMs: input.idleWaitMs,
    spec,
  });
  const delivered = await deliver(ctx, batch.messages);
  if (batch.ids.length > 0) await calls.source.markPublished({ table: input.outbox.table, ids: batch.ids });
  return {
    changesRead: batch.ids.length,
    delivered,
    position: batch.ids.at(-1) ?? null,
    lagBytes: null,
    outboxLag: batch.lag,
  };
}
