// A CDC pipeline's definition (the workflow input): what to capture, how to shape it, where to
// send it. One workflow per pipeline; the pipeline name names the replication slot too.
import { z } from 'zod';

const OPS = ['c', 'u', 'd', 'r', 't'] as const;

export const transformSpec = z
  .object({
    /** Tables this transform applies to ("schema.table", "table", "schema.*"); all when left out. */
    tables: z.array(z.string().min(1)).optional(),
    /** Field renames, old name → new name (applied to before, after and key). */
    rename: z.record(z.string().min(1), z.string().min(1)).default({}),
    /** Fields removed from before and after. */
    drop: z.array(z.string().min(1)).default([]),
    /** Fields whose values are replaced by "***" in before and after. */
    mask: z.array(z.string().min(1)).default([]),
  })
  .strict();

export const cdcPipelineInput = z
  .object({
    /** Lower-case letters, digits and underscores: it names the slot and publication. */
    pipeline: z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'lower-case letters, digits and _, up to 40 characters'),
    /** logical: pgoutput logical replication; outbox: polling a transactional outbox table. */
    mode: z.enum(['logical', 'outbox']).default('logical'),
    /** Captured tables (logical mode). */
    tables: z.array(z.string().min(1)).default([]),
    /** Replication slot and publication; default prism_cdc_<pipeline> and prism_cdc_<pipeline>_pub. */
    slot: z
      .string()
      .regex(/^[a-z0-9_]{1,63}$/)
      .optional(),
    publication: z.string().min(1).max(63).optional(),
    /** source.db in events; default: the source backend's database. */
    database: z.string().min(1).optional(),
    /**
     * initial: when the pipeline's slot is created, first deliver every existing row as an 'r'
     * event, consistent with where streaming starts (no row missed or doubled); never: stream only.
     */
    snapshot: z.enum(['initial', 'never']).default('never'),
    /** Snapshot rows per chunk (one read + deliver round each). */
    snapshotChunkSize: z.number().int().min(1).max(2000).default(500),
    filter: z
      .object({
        tables: z.array(z.string().min(1)).optional(),
        operations: z.array(z.enum(OPS)).min(1).optional(),
      })
      .strict()
      .default({}),
    transforms: z.array(transformSpec).default([]),
    /** Topic of a table: topics["schema.table"], else `<topicPrefix>.<schema>.<table>`. */
    topicPrefix: z.string().min(1).optional(),
    topics: z.record(z.string().min(1), z.string().min(1)).default({}),
    /** pubsub: publish (Kafka topics); stream: append (NATS JetStream, Kafka streams). */
    sink: z.enum(['pubsub', 'stream']).default('pubsub'),
    outbox: z
      .object({
        table: z.string().min(1).default('outbox'),
      })
      .strict()
      .default({ table: 'outbox' }),
    /** Most changes (logical) or rows (outbox) one sink batch carries. */
    batchSize: z.number().int().min(1).max(2000).default(500),
    /**
     * Outbox mode: how long one poll waits for rows when there are none. Logical mode streams and
     * does not poll: a new pipeline that sets it there is refused (see removedInLogicalMode);
     * inputs of runs started before streaming still carry it and are accepted.
     */
    idleWaitMs: z.number().int().min(0).max(60_000).default(2_000),
    /**
     * Logical mode: how long one streaming round (the pump activity) runs before it reports its
     * counts and confirmed position to the workflow; pause and stop end a round early.
     */
    streamRoundMs: z.number().int().min(1_000).max(600_000).default(60_000),
    /** Batches (logical mode: streaming rounds) per run before continuing as new (history stays small). */
    maxBatchesPerRun: z.number().int().min(1).max(10_000).default(200),
  })
  .strict()
  .refine((i) => i.mode !== 'logical' || i.tables.length > 0, {
    message: 'logical mode needs at least one table',
    path: ['tables'],
  });

export type CdcPipelineInput = z.input<typeof cdcPipelineInput>;
export type CdcPipeline = z.output<typeof cdcPipelineInput>;
export type TransformSpec = z.output<typeof transformSpec>;

export function slotName(p: CdcPipeline): string {
  return p.slot ?? `prism_cdc_${p.pipeline}`;
}

export function publicationName(p: CdcPipeline): string {
  return p.publication ?? `prism_cdc_${p.pipeline}_pub`;
}

/**
 * A field a new logical-mode pipeline may no longer set, with what to do instead (null when none
 * is set). Checked by the CLI before starting and by the workflow on a new pipeline's first run.
 */
export function removedInLogicalMode(raw: unknown): string | null {
  const fields = (raw ?? {}) as Record<string, unknown>;
  if ((fields.mode ?? 'logical') === 'logical' && fields.idleWaitMs !== undefined) {
    return (
      'idleWaitMs: removed for logical mode, which streams changes as they commit (no polling); ' +
      'delete this field (it still applies to outbox mode)'
    );
  }
  return null;
}
