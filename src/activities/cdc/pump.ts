// The CDC pump: a long-running activity on the `source` slot's backend (so the replication stream
// is held under that backend's breaker and bulkhead, one slot for the round) that
//   1. streams the slot's changes (cdc_source.streamChanges: logical replication, no polling),
//   2. runs each batch through the pipeline (filter → transform → topic: pure code, pipeline.ts),
//   3. delivers it through the `sink` slot's guarded handle (its own breaker, bulkhead, metrics),
//   4. and only then confirms the batch's position to the source (a standby status update).
// It heartbeats its counts and the confirmed position, and returns at the first transaction
// boundary after forMs or maxChanges, or after a cancellation (pause, stop, worker shutdown), with
// those counts, so the workflow records progress
// (and continues as new now and then) without any row passing through history.
//
// A crash (worker killed, heartbeat timeout) retries the round: the stream starts again at the
// slot's confirmed position, so what was delivered but not confirmed is delivered again with the
// same event ids (the cdc-id header), which consumers drop; the retry also takes over the crashed
// attempt's counts from its last heartbeat. A sink failure is reported as a failure of the sink
// (CircuitOpen, BulkheadFull, Driver<Code>), never as a transient error of this activity's own
// backend, so a Kafka outage opens Kafka's breaker and leaves Postgres's closed; and while the
// sink's breaker is open, a round fails at once, before it opens a stream, and retries when the
// breaker allows a probe.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Ops } from '../../drivers/capabilities';
import { isDriverError } from '../../drivers/errors';
import { toActivityFailure } from '../../resilience/activity-interceptor';
import { backendAnswered } from '../../resilience/backend-answered';
import { CircuitOpenError, isBulkheadFullError, isCircuitOpenError } from '../../resilience/errors';
import type { BackendHandle } from '../../sdk/backend-handle';
import type { PatternActivityContext } from '../../sdk/pattern';
import {
  CDC_CONFIG_ERROR,
  type PumpProgress,
  type PumpRequest,
  type PumpResult,
} from '../../workflows/cdc/activity-io';
import { runPipeline } from '../../workflows/cdc/pipeline';
import { lagSecondsOf } from '../../workflows/cdc/logic';
import { deliverMessages } from './deliver';
import { cdcMetrics } from './metrics';
import type { CdcSettings } from '../../workflows/cdc/settings';

const BEAT_EVERY_MS = 1_000;
/** How often a round reads its slot's lag (WAL held) for the status and the lag metric. */
const LAG_EVERY_MS = 2_000;

/** A failure of the sink, as the sink's own failure type (not one of the source backend). */
function sinkFailure(err: unknown): unknown {
  if (isCircuitOpenError(err) || isBulkheadFullError(err) || isDriverError(err)) return toActivityFailure(err);
  return err;
}

function isHandleList(slot: BackendHandle | readonly BackendHandle[]): slot is readonly BackendHandle[] {
  return Array.isArray(slot);
}

/** The sink slot's guarded handle: every delivery goes through the sink backend's own guard. */
function sinkOf(context: PatternActivityContext<CdcSettings>): BackendHandle {
  const sink = context.slots.sink;
  if (sink === undefined || isHandleList(sink)) {
    throw ApplicationFailure.nonRetryable(
      `the cdc pump on backend "${context.backend}" found no sink slot bound on this worker`,
      CDC_CONFIG_ERROR,
    );
  }
  return sink;
}

export function cdcPump(
  driver: Ops<'cdc_source'>,
  context: PatternActivityContext<CdcSettings>,
): (request: PumpRequest) => Promise<PumpResult> {
  return async (request) => {
    const ctx = Context.current();
    const sink = sinkOf(context);
    const carried = ctx.info.heartbeatDetails as PumpProgress | undefined;
    const progress: PumpResult = carried
      ? { ...carried }
      : { changesRead: 0, delivered: 0, batches: 0, position: null, lagBytes: null, lagSeconds: 0 };
    const startedWith = progress.changesRead;
    // A failed attempt reports its last heartbeat with the failure, and the next attempt takes over
    // from it: this attempt's first heartbeat is the counts it took over, so a failure before any
    // other (the sink's breaker open, the stream refused) hands them on instead of nothing.
    if (carried) ctx.heartbeat(progress satisfies PumpProgress);
    // Holding the slot's stream (and a source bulkhead slot) is pointless while the sink is down.
    if (sink.guard.state() === 'open') {
      throw toActivityFailure(new CircuitOpenError(sink.backend, sink.guard.msUntilHalfOpen()));
    }

    const stream = await driver.streamChanges({ slot: request.slot, publication: request.publication });
    // The replication stream is open: Postgres answered. A round admitted as the source's half-open
    // probe closes the circuit now rather than after streamRoundMs (other pg calls wait till then).
    backendAnswered();
    // The round ends at a transaction boundary once forMs or maxChanges is reached (ending inside a
    // transaction would send its delivered part again next round, and a transaction longer than a
    // round would never get through); a cancellation ends it after the batch in hand.
    const stop = new AbortController();
    let roundOver = false;
    let atBoundary = true;
    const cancelled = (): void => stop.abort();
    ctx.cancellationSignal.addEventListener('abort', cancelled, { once: true });
    const deadline = setTimeout(() => {
      roundOver = true;
      if (atBoundary) stop.abort();
    }, request.forMs);
    // Heartbeats carry progress and are how a cancellation reaches the activity.
    // The lag is for the status only: a failure to read it must not fail the round.
    const readLag = async (): Promise<void> => {
      progress.lagBytes = await driver
        .captureStatus({ slot: request.slot })
        .then((s) => s.lagBytes)
        .catch(() => progress.lagBytes);
      if (progress.lagBytes !== null) cdcMetrics.lagBytes.set({ pipeline: request.pipeline }, progress.lagBytes);
    };
    const beat = setInterval(() => ctx.heartbeat(progress satisfies PumpProgress), BEAT_EVERY_MS);
    // A round lasts streamRoundMs: its lag is read as it goes, not only at its end.
    const lagTimer = setInterval(() => void readLag(), LAG_EVERY_MS);
    void readLag();
    // Delivery is not cut short by a pause or the round's end: the batch in hand finishes first.
    const finishing = new AbortController().signal;
    try {
      while (!stop.signal.aborted && !(roundOver && atBoundary)) {
        // next() throws once the stream broke (connection lost, slot dropped).
        const batch = await stream.next({ limit: request.batchSize, signal: stop.signal });
        if (batch.changes.length > 0) {
          const messages = runPipeline(batch.changes, request.spec);
          try {
            await deliverMessages(
              {
                sink,
                backend: sink.backend,
                mode: request.sinkMode,
                pipeline: request.pipeline,
                concurrency: context.settings.deliverConcurrency,
                signal: finishing,
                accepted: () => undefined,
              },
              messages,
            );
          } catch (err) {
            throw sinkFailure(err);
          }
          progress.changesRead += batch.changes.length;
          progress.delivered += messages.length;
          progress.batches++;
          progress.lastBatchAt = new Date().toISOString();
          if (messages.length > 0) {
            progress.lagSeconds = lagSecondsOf(
              messages.map((m) => m.committedAt),
              Date.now(),
            );
            cdcMetrics.lagSeconds.set({ pipeline: request.pipeline }, progress.lagSeconds);
          }
        }
        // Only now: the sink accepted every event up to this position.
        if (batch.position !== null) {
          stream.confirm(batch.position);
          progress.position = batch.position;
        }
        if (batch.changes.length > 0 || batch.position !== null) atBoundary = batch.complete;
        if (progress.changesRead - startedWith >= request.maxChanges) roundOver = true;
      }
    } catch (err) {
      // Batches delivered and confirmed since the last beat are in no heartbeat yet: without this
      // one, the failure would carry older counts and those batches would count nowhere (they are
      // not delivered again).
      ctx.heartbeat(progress satisfies PumpProgress);
      throw err;
    } finally {
      clearTimeout(deadline);
      clearInterval(beat);
      clearInterval(lagTimer);
      ctx.cancellationSignal.removeEventListener('abort', cancelled);
      await stream.close();
    }
    await readLag();
    ctx.heartbeat(progress satisfies PumpProgress);
    return progress;
  };
}
