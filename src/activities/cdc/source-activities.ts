// Activities on the `source` slot's backend: prepare the capture, the streaming pump (pump.ts:
// stream → pipeline → sink → confirm, no batch through history), the initial snapshot's chunks,
// the outbox poller, and the one-batch SQL read that runs from before streaming still schedule. Every database call is an operation of the source backend's driver
// (cdc_source, cdc_snapshot, outbox_source), so it runs under that backend's breaker and bulkhead.
import { ApplicationFailure } from '@temporalio/common';
import { Context, sleep } from '@temporalio/activity';
import type { Capability, CapabilityOperations, Ops } from '../../drivers/capabilities';
import { hasCapability, type DriverBase } from '../../drivers/driver';
import { isDriverError } from '../../drivers/errors';
import type { PatternActivityContext } from '../../sdk/pattern';
import {
  CDC_CONFIG_ERROR,
  type CaptureAndDeliverRequest,
  type CaptureAndDeliverResult,
  type CaptureRequest,
  type CaptureResult,
  type OutboxLagStatus,
  type PollOutboxRequest,
  type PollOutboxResult,
  type PrepareRequest,
  type PrepareResult,
  type SnapshotChunkRequest,
  type SnapshotChunkResult,
} from '../../workflows/cdc/activity-io';
import { outboxMessage } from '../../workflows/cdc/outbox';
import { cutToBudget, runPipeline } from '../../workflows/cdc/pipeline';
import { cdcMetrics } from './metrics';
import { cdcPump } from './pump';
import type { CdcSettings } from '../../workflows/cdc/settings';

const OUTBOX_POLL_MS = 200;
/** The outbox's backlog is counted at most this often per table (a count is not free on a big backlog). */
const OUTBOX_LAG_EVERY_MS = 1_000;
/** A batch's messages stay below this (Temporal refuses payloads over 2 MB). */
const BATCH_BUDGET_BYTES = 512 * 1024;

/** A permanent driver error (missing table, bad column) as the pattern's configuration error. */
async function asConfigError<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (isDriverError(err) && !err.retryable) throw ApplicationFailure.nonRetryable(err.message, CDC_CONFIG_ERROR);
    throw err;
  }
}

/** The workflow's view of these activities: its proxies are typed from this factory. */
export type SourceActivities = ReturnType<typeof sourceActivities>;

export function sourceActivities(driver: Ops<'cdc_source'>, context: PatternActivityContext<CdcSettings>) {
  const base = driver as unknown as DriverBase;
  /** The source driver's operations of a capability the pipeline's mode needs. */
  const need = <C extends Capability>(capability: C, what: string): CapabilityOperations[C] => {
    if (!hasCapability(base, capability)) {
      throw ApplicationFailure.nonRetryable(
        `source backend "${context.backend}" (driver ${base.driverName}) has no ${capability}, needed by ${what}`,
        CDC_CONFIG_ERROR,
      );
    }
    return base;
  };
  const schema = context.settings.snapshotSchema;
  const lastLag = new Map<string, { at: number; lag: OutboxLagStatus }>();

  const outboxLag = async (table: string): Promise<OutboxLagStatus> => {
    const known = lastLag.get(table);
    if (known && Date.now() - known.at < OUTBOX_LAG_EVERY_MS) return known.lag;
    const lag = await need('outbox_source', 'outbox mode').outboxLag({ table });
    const oldest = lag.oldestUnpublishedAt === null ? NaN : Date.parse(lag.oldestUnpublishedAt);
    const status: OutboxLagStatus = {
      ...lag,
      oldestAgeSeconds: Number.isFinite(oldest) ? Math.max(0, (Date.now() - oldest) / 1000) : 0,
    };
    lastLag.set(table, { at: Date.now(), lag: status });
    return status;
  };

  return {
    /** Checks the source and creates what capture needs; a permanent problem fails non-retryably. */
    async prepare(request: PrepareRequest): Promise<PrepareResult> {
      const { database } = await driver.captureStatus({ slot: request.slot });
      const result: PrepareResult = { database: request.database ?? database, snapshot: null };
      if (request.mode === 'outbox') {
        const outbox = need('outbox_source', 'outbox mode');
        await asConfigError(() => outbox.checkOutbox({ table: request.outboxTable }));
      } else if (request.snapshot === 'initial') {
        const snapshots = need('cdc_snapshot', "snapshot: 'initial'");
        // Staging a big table takes a while: tell Temporal the activity is alive meanwhile.
        const ctx = Context.current();
        const timer = setInterval(() => ctx.heartbeat(), 1_000);
        try {
          result.snapshot = await snapshots.prepareSnapshot({
            slot: request.slot,
            publication: request.publication,
            tables: request.tables,
            schema,
          });
        } finally {
          clearInterval(timer);
        }
      } else {
        await driver.ensureCapture({ slot: request.slot, publication: request.publication, tables: request.tables });
      }
      return result;
    },

    /** Staged snapshot rows after request.after, through the pipeline (kept under the payload budget). */
    async snapshotChunk(request: SnapshotChunkRequest): Promise<SnapshotChunkResult> {
      const changes = await need('cdc_snapshot', "snapshot: 'initial'").readSnapshot({
        slot: request.slot,
        after: request.after,
        limit: request.limit,
        schema,
      });
      if (changes.length === 0) return { messages: [], upTo: request.after, rowsRead: 0, delivered: 0 };
      let messages = runPipeline(changes, request.spec);
      let covered = changes;
      const cut = cutToBudget(changes, messages, BATCH_BUDGET_BYTES);
      if (cut) {
        messages = cut.messages;
        covered = changes.slice(0, cut.changesCovered);
      }
      return { messages, upTo: covered.at(-1)!.sequence, rowsRead: covered.length, delivered: 0 };
    },

    /** Every snapshot row is delivered: the staged rows go, the snapshot is kept as done. */
    finishSnapshot: (request: { slot: string }): Promise<void> =>
      need('cdc_snapshot', "snapshot: 'initial'").finishSnapshot({ ...request, schema }),

    /** Forgets the slot's snapshot (on drop). */
    async forgetSnapshot(request: { slot: string }): Promise<void> {
      if (hasCapability(base, 'cdc_snapshot')) await base.forgetSnapshot({ ...request, schema });
    },

    /** Streams, delivers and confirms for a bounded time (see PumpRequest). */
    pump: cdcPump(driver, context),

    /** One batch read by SQL (runs from before streaming: their histories still schedule it). */
    async capture(request: CaptureRequest): Promise<CaptureResult> {
      const { changes, lastLsn } = await driver.readChanges({
        slot: request.slot,
        publication: request.publication,
        limit: request.limit,
        waitMs: request.waitMs,
      });
      // The lag is for the status only: a failure to read it must not fail the batch.
      const lagBytes = await driver
        .captureStatus({ slot: request.slot })
        .then((s) => s.lagBytes)
        .catch(() => null);
      if (lagBytes !== null) cdcMetrics.lagBytes.set({ pipeline: request.pipeline }, lagBytes);
      const messages = runPipeline(changes, request.spec);
      const cut = cutToBudget(changes, messages, BATCH_BUDGET_BYTES);
      if (cut) return { messages: cut.messages, changesRead: cut.changesCovered, position: cut.position, lagBytes };
      return { messages, changesRead: changes.length, position: lastLsn, lagBytes };
    },

    /**
     * Histories from before batched delivery went through the sink scheduled this (read, produce to
     * Kafka, confirm, in one activity). It now does nothing and says so (batches: 0): a round left in
     * flight by such a run completes, and the run goes on with capture and deliver.
     */
    async captureAndDeliver(_request: CaptureAndDeliverRequest): Promise<CaptureAndDeliverResult> {
      return { changesRead: 0, delivered: 0, batches: 0, position: null, lagBytes: null, lagSeconds: 0 };
    },

    async pollOutbox(request: PollOutboxRequest): Promise<PollOutboxResult> {
      const outbox = need('outbox_source', 'outbox mode');
      const deadline = Date.now() + request.waitMs;
      for (;;) {
        const rows = await outbox.pollOutbox({ table: request.table, limit: request.limit, skip: request.skip });
        if (rows.length > 0 || Date.now() >= deadline) {
          const lag = await outboxLag(request.table).catch(() => undefined);
          if (lag) {
            cdcMetrics.outboxUnpublished.set({ pipeline: request.pipeline }, lag.unpublished);
            cdcMetrics.outboxOldestSeconds.set({ pipeline: request.pipeline }, lag.oldestAgeSeconds);
          }
          return {
            messages: rows.map((row) => outboxMessage(row, request.table, request.spec)),
            ids: rows.map((row) => row.id),
            range: rows.length > 0 ? { from: rows[0]!.position, to: rows.at(-1)!.position } : null,
            lagBytes: null,
            ...(lag ? { lag } : {}),
          };
        }
        await sleep(Math.min(OUTBOX_POLL_MS, Math.max(0, deadline - Date.now())));
      }
    },

    markPublished: (request: { table: string; ids: string[] }): Promise<number> =>
      need('outbox_source', 'outbox mode').markPublished(request),
  };
}
