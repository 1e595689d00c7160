// The `config:` block of a backend using the postgres driver. Only zod here: the factory in
// index.ts validates configs without loading pg.
import { z } from 'zod';
import type { Capability } from '../capabilities';
import { limitsSchema } from '../limits-schema';

/** A Postgres identifier the driver quotes itself: 1..63 bytes, no NUL. */
const identifier = z
  .string()
  .min(1)
  .refine((s) => Buffer.byteLength(s, 'utf8') <= 63 && !s.includes('\0'), {
    message: 'must be 1 to 63 bytes without NUL characters',
  });

export const postgresConfigSchema = z.strictObject({
  url: z.string().min(1).default('postgres://prism:prism@127.0.0.1:5432/prism'),
  /** Schema holding the driver's tables (created when missing). */
  // Not 'prism': a schema named after the connecting role comes first in Postgres's default
  // search_path and would capture the role's unqualified tables.
  schema: identifier.default('prism_store'),
  /** Key-value table. */
  table: identifier.default('kv'),
  /** Queue table; dead letters go to `<queueTable>_dead_letters`, CDC positions to `cdc_positions`. */
  queueTable: identifier
    .refine((s) => Buffer.byteLength(s, 'utf8') <= 50, { message: 'must be at most 50 bytes' })
    .default('queue'),
  pool: z
    .strictObject({
      max: z.number().int().min(1).max(1000).default(10),
      idleTimeoutMs: z.number().int().min(0).default(10_000),
    })
    .prefault({}),
  connectTimeoutMs: z.number().int().positive().default(5_000),
  /** Server-side statement_timeout; 0 disables it. */
  statementTimeoutMs: z.number().int().min(0).default(30_000),
  tls: z
    .strictObject({
      /** Paths of PEM files. */
      ca: z.string().min(1).optional(),
      cert: z.string().min(1).optional(),
      key: z.string().min(1).optional(),
      servername: z.string().min(1).optional(),
      rejectUnauthorized: z.boolean().default(true),
    })
    .optional(),
  // Btree index entries are limited to about 2.7 kB, so keys stay well below that.
  limits: limitsSchema({ maxKeyBytes: 2048, maxValueBytes: 256 * 1024 * 1024 }),
  /** Interval of the background sweep deleting expired keys; 0 disables it (reads stay correct). */
  sweepIntervalMs: z.number().int().min(0).default(60_000),
  /**
   * cdc_source: how often an idle slot gets a WAL heartbeat (a logical message whose position lets
   * the slot free WAL of tables it does not capture); after a failure the wait doubles, up to 5
   * minutes or the interval. 0 turns heartbeats off.
   */
  cdcHeartbeatIntervalMs: z.number().int().min(0).default(10_000),
});

export type PostgresConfig = z.output<typeof postgresConfigSchema>;

/** Everything the postgres driver implements (every instance offers all of it). */
export const POSTGRES_CAPABILITIES: readonly Capability[] = [
  'keyvalue_basic',
  'keyvalue_ttl',
  'keyvalue_scan',
  'keyvalue_batch',
  'keyvalue_cas',
  'queue_basic',
  'pubsub_basic',
  'cdc_source',
  'cdc_snapshot',
  'outbox_source',
  'ledger_basic',
  'changefeed',
];
