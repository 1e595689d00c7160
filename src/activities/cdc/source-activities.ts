// Activities on the `source` slot's backend: prepare the capture, read a batch of changes and run
// them through the pipeline (filtered changes never reach history), and the outbox poller.
import { ApplicationFailure } from '@temporalio/common';
import { sleep } from '@temporalio/activity';
import type { Ops } from '../../drivers/capabilities';
import type { PatternActivityContext } from '../../sdk/pattern';
import {
  CDC_CONFIG_ERROR,
  type CaptureRequest,
  type CaptureResult,
  type CdcSourceActivities,
  type PollOutboxRequest,
  type PollOutboxResult,
  type PrepareRequest,
} from '../../workflows/cdc/activities';
import { outboxMessage } from '../../workflows/cdc/outbox';
import { runPipeline } from '../../workflows/cdc/pipeline';
import { cdcMetrics } from './metrics';
import { checkOutboxTable, markPublished, readUnpublished, slotLagBytes } from './outbox-store';
import { databaseOf, poolFor } from './pg-pools';
import type { CdcSettings } from './settings';

const OUTBOX_POLL_MS = 200;

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
      return { database: request.database ?? databaseOf(url) ?? 'postgres' };
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
      return { messages: runPipeline(changes, request.spec), changesRead: changes.length, position: lastLsn, lagBytes };
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
