// The CDC pattern's settings (patterns.cdc.settings in the worker config).
import { z } from 'zod';

export const cdcSettingsSchema = z
  .object({
    /**
     * Connection URL of the source database, for what the cdc_source capability does not offer:
     * the outbox poller and the slot's lag in bytes. Usually the source backend's own URL.
     */
    postgresUrl: z.string().min(1).optional(),
    /** Schema of the initial snapshot's bookkeeping and staged rows (in the postgresUrl database). */
    snapshotSchema: z.string().min(1).max(63).default('prism_store'),
    /** Keys delivered concurrently by one deliver activity (one key's events stay in order). */
    deliverConcurrency: z.number().int().min(1).max(256).default(32),
    /**
     * Produce to Kafka directly, a batch per request, instead of one publish per event through the
     * sink driver (see kafka-direct.ts). brokers and topicPrefix should match the sink backend's.
     */
    kafkaDirect: z
      .object({
        brokers: z.array(z.string().min(1)).min(1),
        topicPrefix: z.string().default(''),
      })
      .strict()
      .optional(),
  })
  .strict();

export type CdcSettings = z.output<typeof cdcSettingsSchema>;
