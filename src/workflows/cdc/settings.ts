// The CDC pattern's settings (patterns.cdc.settings in the worker config).
import { z } from 'zod';

/** A field that was removed: any value is refused with `message` (what to do instead). */
const removed = (message: string) => z.never({ error: message }).optional();

export const cdcSettingsSchema = z
  .object({
    /** Schema of the initial snapshot's bookkeeping and staged rows (in the source database). */
    snapshotSchema: z.string().min(1).max(63).default('prism_store'),
    /** Keys delivered concurrently by one deliver activity without pubsub_batch (one key's events stay in order). */
    deliverConcurrency: z.number().int().min(1).max(256).default(32),
    /**
     * Batches a streaming pump has read and not yet had acknowledged by the sink: it reads and
     * transforms the next ones while earlier ones are with the sink (1: one batch at a time).
     */
    batchesInFlight: z.number().int().min(1).max(64).default(4),
    postgresUrl: removed(
      'removed: the source backend (patterns.cdc.slots.source) and its connection are used for the outbox, ' +
        'the slot lag and the snapshot; delete this field',
    ),
    kafkaDirect: removed(
      'removed: batches are delivered through the sink backend (patterns.cdc.slots.sink) with pubsub_batch, ' +
        'one produce request per batch, using the brokers, TLS and SASL of that backend; delete this field',
    ),
  })
  .strict();

export type CdcSettings = z.output<typeof cdcSettingsSchema>;
