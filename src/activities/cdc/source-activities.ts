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
} from '../../workflows/cdc/activities';
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

  return {
    async prepare(request: PrepareRequest) {
      if (request.mode === 'outbox') await checkOutboxTable(pool(), request.outboxTable);
      else await driver.ensureCapture({ slot: request.slot, publication: request.publication, tables: request.tables });
      return {
        database: request.database ?? databaseOf(url) ?? 'postgres',
        directSink: context.settings.kafkaDirect !== undefined,
      };
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
        const rows = await readUnpublished(pool(), request.table, request.limit);
        if (rows.length > 0 || Date.now() >= deadline) {
          return {
            messages: rows.map((row) => outboxMessage(row, request.table, request.spec)),
            ids: rows.map((row) => row.id),
            lagBytes: null,
          };
        }
        await sleep(Math.min(OUTBOX_POLL_MS, Math.max(0, deadline - Date.now())));
      }
    },

    markPublished: (request) => markPublished(pool(), request.table, request.ids),
  };
}
