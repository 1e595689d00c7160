// The CDC pump: a long-running activity on the `source` slot's backend (so the replication stream
// is held under that backend's breaker and bulkhead, one slot for the round) that
//   1. streams the slot's changes (cdc_source.streamChanges: logical replication, no polling),
//   2. runs each batch through the pipeline (filter → transform → topic: pure code, pipeline.ts),
//   3. delivers it through the `sink` slot's guarded handle (its own breaker, bulkhead, metrics)
//      while it reads and transforms the next batches (up to settings.batchesInFlight outstanding,
//      sent one sink call at a time in stream order: ordered-deliveries.ts),
//   4. and only once the sink acknowledged a batch and every one before it confirms the batch's
//      position to the source (a standby status update).
// It heartbeats its counts and the confirmed position, and returns at the first transaction
// boundary after forMs or maxChanges, or after a cancellation (pause, stop, worker shutdown), with
// those counts, so the workflow records progress
// (and continues as new now and then) without any row passing through history.
//
// A crash (worker killed, heartbeat timeout) retries the round: the stream starts again at the
// slot's confirmed position, so what was delivered but not confirmed is delivered again with the
// same event ids (the body's id, and the message id on pubsub_batch sinks), which consumers drop; the retry also takes over the crashed
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
import { deliverMessages, encodeMessage, type SinkMessage } from './deliver';
import { cdcMetrics } from './metrics';
import { OrderedDeliveries } from './ordered-deliveries';
import type { CdcSettings } from '../../workflows/cdc/settings';

const BEAT_EVERY_MS = 1_000;
/** How often a round reads its slot's lag (WAL held) for the status and the lag metric. */
const LAG_EVERY_MS = 2_000;
/**
 * Batches waiting for the sink go out together in one call up to about this much (Kafka: one
 * produce request, well under the broker's default 1 MB record batch limit); one bigger batch
 * still goes alone, as it would have.
 */
const CALL_BYTES = 512 * 1024;
/** A record's framing and the sink's message id header, beside its body and key. */
const RECORD_OVERHEAD_BYTES = 64;

/** A failure of the sink, as the sink's own failure type (not one of the source backend). */
function sinkFailure(err: unknown): unknown {
  if (isCircuitOpenError(err) || isBulkheadFullError(err) || isDriverError(err)) return toActivityFailure(err);
  return err;
}

/** A batch read from the stream, on its way to the sink. */
interface StreamedBatch {
  /** Changes read (some may have been filtered out of messages). */
  changes: number;
  messages: SinkMessage[];
  /** About what its messages weigh on the wire. */
  bytes: number;
  /** The position confirmed once the sink accepted this batch and every one before it. */
  position: string | null;
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
    // Delivery is not cut short by a pause or the round's end: the batches in hand finish first.
    const finishing = new AbortController().signal;
    const deliveries = new OrderedDeliveries<StreamedBatch>({
      limit: context.settings.batchesInFlight,
      maxSize: CALL_BYTES,
      sizeOf: (batch) => batch.bytes,
      deliver: async (batches) => {
        const messages = batches.length === 1 ? batches[0]!.messages : batches.flatMap((b) => b.messages);
        if (messages.length === 0) return;
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
      },
      // In read order: the sink accepted every event of these batches and of all before them.
      acknowledged: (batches) => {
        let position: string | null = null;
        const committedAt: string[] = [];
        for (const batch of batches) {
          if (batch.changes > 0) {
            progress.changesRead += batch.changes;
            progress.delivered += batch.messages.length;
            progress.batches++;
          }
          // A transaction's events share one commit time: each is parsed once, not once per event.
          for (const m of batch.messages) if (m.committedAt !== committedAt.at(-1)) committedAt.push(m.committedAt);
          position = batch.position ?? position;
        }
        if (batches.some((b) => b.changes > 0)) progress.lastBatchAt = new Date().toISOString();
        if (committedAt.length > 0) {
          progress.lagSeconds = lagSecondsOf(committedAt, Date.now());
          cdcMetrics.lagSeconds.set({ pipeline: request.pipeline }, progress.lagSeconds);
        }
        // Only now: the sink accepted every event up to this position.
        if (position !== null) {
          stream.confirm(position);
          progress.position = position;
        }
      },
    });
    // Reading stops at a sink failure too: nothing read after it would be delivered.
    const reading = AbortSignal.any([stop.signal, deliveries.failed]);
    let read = 0;
    try {
      try {
        while (!stop.signal.aborted && !(roundOver && atBoundary)) {
          await deliveries.room();
          // next() throws once the stream broke (connection lost, slot dropped).
          const batch = await stream.next({ limit: request.batchSize, signal: reading });
          deliveries.throwIfFailed();
          if (batch.changes.length > 0 || batch.position !== null) {
            // Serialised now, while earlier batches are with the sink.
            const messages =
              batch.changes.length > 0 ? runPipeline(batch.changes, request.spec).map(encodeMessage) : [];
            let bytes = 0;
            for (const m of messages)
              bytes += m.encoded.byteLength + m.id.length + m.key.length + RECORD_OVERHEAD_BYTES;
            deliveries.add({ changes: batch.changes.length, messages, bytes, position: batch.position });
            atBoundary = batch.complete;
          }
          read += batch.changes.length;
          if (read >= request.maxChanges) roundOver = true;
        }
        await deliveries.drain();
      } catch (err) {
        // A broken stream can confirm nothing more: what is still with the sink is read again next
        // attempt, and counted then.
        if (!deliveries.failed.aborted) await deliveries.abandon();
        throw err;
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
