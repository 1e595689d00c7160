// Activities on the `source` slot's backend: prepare the capture, read a batch of changes and run
// them through the pipeline (filtered changes never reach history), and the outbox poller.
import { ApplicationFailure } from '@temporalio/common';
import { Context, sleep } from '@temporalio/activity';
import type { Ops } from '../../drivers/capabilities';
import type { PatternActivityContext } from '../../sdk/pattern';
import {
  CDC_CONFIG_ERROR,
  type CaptureAndDeliverRequest,
  type CaptureAndDeliverResult,
  type CaptureRequest,
  type CaptureResult,
  type CdcSourceActivities,
  type PollOutboxRequest,
  type PollOutboxResult,
  type PrepareRequest,
  type PrepareResult,
  type SnapshotChunkRequest,
  type SnapshotChunkResult,
  type SnapshotInfo,
} from '../../workflows/cdc/activities';
import { SnapshotStore } from '../../drivers/postgres/cdc-snapshot';
import { outboxMessage } from '../../workflows/cdc/outbox';
import { cutToBudget, runPipeline } from '../../workflows/cdc/pipeline';
import { lagSecondsOf } from '../../workflows/cdc/status';
import { produceDirect } from './kafka-direct';
import { cdcMetrics } from './metrics';
import { cdcHeaders, countEvent } from './sink-activities';
import { checkOutboxTable, markPublished, readUnpublished, slotLagBytes } from './outbox-store';
import { databaseOf, poolFor } from './pg-pools';
import type { CdcSettings } from './settings';

const OUTBOX_POLL_MS = 200;
/** A batch's messages stay below this (Temporal refuses payloads over 2 MB). */
const BATCH_BUDGET_BYTES = 512 * 1024;

export function cdcSourceActivities(
  driver: Ops<'cdc_source'>,
  context: PatternActivityContext<CdcSettings>,
): CdcSourceActivities {
  const url = context.settings.postgresUrl;
  const pool = () => {
    if (!url) {
      throw ApplicationFailure.nonRetryable(
        `outbox mode needs patterns.${context.pattern}.settings.postgresUrl (the source database URL)`,
        CDC_CONFIG_ERROR,
      );
    }
    return poolFor(url);
  };
  let store: SnapshotStore | undefined;
  const snapshots = (): SnapshotStore => {
    if (!url) {
      throw ApplicationFailure.nonRetryable(
        `snapshot: 'initial' needs patterns.${context.pattern}.settings.postgresUrl (the source database URL)`,
        CDC_CONFIG_ERROR,
      );
    }
    store ??= new SnapshotStore(poolFor(url), context.settings.snapshotSchema);
    return store;
  };

  /**
   * Snapshot mode: a slot made for a snapshot gets one, consistent with its start; a crash while
   * copying leaves the marker pending, and the next attempt starts over with a new slot.
   */
  const prepareSnapshot = async (request: PrepareRequest): Promise<SnapshotInfo | null> => {
    const s = snapshots();
    let marker = await s.marker(request.slot);
    if (!marker) {
      const slotThere = await poolFor(url!).query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [
        request.slot,
      ]);
      // The slot already streams (made without a snapshot): its position is kept, no snapshot.
      if ((slotThere.rowCount ?? 0) > 0) {
        await driver.ensureCapture({ slot: request.slot, publication: request.publication, tables: request.tables });
        return null;
      }
      await s.begin(request.slot);
    }
    // Publication first (decoding looks it up from the slot's start on), then the slot's checks.
    await driver.ensureCapture({ slot: request.slot, publication: request.publication, tables: request.tables });
    marker = await s.marker(request.slot);
    if (marker?.state === 'pending') {
      const ctx = Context.current();
      marker = await s.take({ url: url!, slot: request.slot, tables: request.tables, beat: () => ctx.heartbeat() });
    }
    if (!marker || marker.state === 'pending') return null;
    return { state: marker.state, lsn: marker.lsn, rows: marker.rows, deliveredUpTo: marker.deliveredUpTo };
  };

  return {
    async prepare(request: PrepareRequest): Promise<PrepareResult> {
      let snapshot: SnapshotInfo | null = null;
      if (request.mode === 'outbox') await checkOutboxTable(pool(), request.outboxTable);
      else if (request.snapshot === 'initial') snapshot = await prepareSnapshot(request);
      else await driver.ensureCapture({ slot: request.slot, publication: request.publication, tables: request.tables });
      return {
        database: request.database ?? databaseOf(url) ?? 'postgres',
        directSink: context.settings.kafkaDirect !== undefined,
        snapshot,
      };
    },

    async snapshotChunk(request: SnapshotChunkRequest): Promise<SnapshotChunkResult> {
      const changes = await snapshots().read(request.slot, request.after, request.limit);
      if (changes.length === 0) return { messages: [], upTo: request.after, rowsRead: 0, delivered: 0 };
      let messages = runPipeline(changes, request.spec);
      let covered = changes;
      const cut = cutToBudget(changes, messages, BATCH_BUDGET_BYTES);
      if (cut) {
        messages = cut.messages;
        covered = changes.slice(0, cut.changesCovered);
      }
      const upTo = covered.at(-1)!.sequence;
      const direct = context.settings.kafkaDirect;
      if (request.direct && direct) {
        if (messages.length > 0) await produceDirect(direct, messages, cdcHeaders);
        for (const m of messages) countEvent(request.pipeline, m);
        return { messages: [], upTo, rowsRead: covered.length, delivered: messages.length };
      }
      return { messages, upTo, rowsRead: covered.length, delivered: 0 };
    },

    finishSnapshot: (request) => snapshots().finish(request.slot),

    async forgetSnapshot(request) {
      if (url) await snapshots().forget(request.slot);
    },

    async capture(request: CaptureRequest): Promise<CaptureResult> {
      const { changes, lastLsn } = await driver.readChanges({
        slot: request.slot,
        publication: request.publication,
        limit: request.limit,
        waitMs: request.waitMs,
      });
      let lagBytes: number | null = null;
      if (url) {
        lagBytes = await slotLagBytes(poolFor(url), request.slot).catch(() => null);
        if (lagBytes !== null) cdcMetrics.lagBytes.set({ pipeline: request.pipeline }, lagBytes);
      }
      const messages = runPipeline(changes, request.spec);
      const cut = cutToBudget(changes, messages, BATCH_BUDGET_BYTES);
      if (cut) return { messages: cut.messages, changesRead: cut.changesCovered, position: cut.position, lagBytes };
      return { messages, changesRead: changes.length, position: lastLsn, lagBytes };
    },

    async captureAndDeliver(request: CaptureAndDeliverRequest): Promise<CaptureAndDeliverResult> {
      const direct = context.settings.kafkaDirect;
      if (!direct) {
        throw ApplicationFailure.nonRetryable('captureAndDeliver needs settings.kafkaDirect', CDC_CONFIG_ERROR);
      }
      const ctx = Context.current();
      const started = Date.now();
      const total: CaptureAndDeliverResult = {
        changesRead: 0,
        delivered: 0,
        batches: 0,
        position: null,
        lagBytes: null,
        lagSeconds: 0,
      };
      do {
        ctx.cancellationSignal.throwIfAborted();
        const { changes, lastLsn } = await driver.readChanges({
          slot: request.slot,
          publication: request.publication,
          limit: request.limit,
          // Only the first read waits: later ones end the round when the backlog is drained.
          waitMs: total.batches === 0 ? request.waitMs : 0,
        });
        const messages = runPipeline(changes, request.spec);
        if (messages.length > 0) {
          await produceDirect(direct, messages, cdcHeaders);
          for (const m of messages) countEvent(request.pipeline, m);
        }
        // Only now: Kafka has accepted every event up to this position.
        if (lastLsn !== null) {
          await driver.confirm({ slot: request.slot, lsn: lastLsn });
          total.position = lastLsn;
        }
        total.changesRead += changes.length;
        total.delivered += messages.length;
        total.batches++;
        if (messages.length > 0)
          total.lagSeconds = lagSecondsOf(
            messages.map((m) => m.committedAt),
            Date.now(),
          );
        ctx.heartbeat({ lsn: total.position });
        if (changes.length === 0) break;
      } while (Date.now() - started < request.forMs);
      cdcMetrics.lagSeconds.set({ pipeline: request.pipeline }, total.lagSeconds);
      if (url) {
        total.lagBytes = await slotLagBytes(poolFor(url), request.slot).catch(() => null);
        if (total.lagBytes !== null) cdcMetrics.lagBytes.set({ pipeline: request.pipeline }, total.lagBytes);
      }
      return total;
    },

    async pollOutbox(request: PollOutboxRequest): Promise<PollOutboxResult> {
      const deadline = Date.now() + request.waitMs;
      for (;;) {
        const rows = await readUnpublished(pool(), request.table, request.limit, request.skip);
        if (rows.length > 0 || Date.now() >= deadline) {
          return {
            messages: rows.map((row) => outboxMessage(row, request.table, request.spec)),
            ids: rows.map((row) => row.id),
            range: rows.length > 0 ? { from: rows[0]!.position, to: rows.at(-1)!.position } : null,
            lagBytes: null,
          };
        }
        await sleep(Math.min(OUTBOX_POLL_MS, Math.max(0, deadline - Date.now())));
      }
    },

    markPublished: (request) => markPublished(pool(), request.table, request.ids),
  };
}
