// Idempotent DDL for the driver's tables. Each part (kv, queue, cdc, ledger, feed) is created on first use;
// creators in other processes are serialized with a transaction-scoped advisory lock, because
// concurrent CREATE ... IF NOT EXISTS can still collide on the catalogs.
import type { Pool } from 'pg';
import type { PostgresConfig } from './config';
import { qualified, quoteIdent } from './sql';

export type SchemaPart = 'kv' | 'queue' | 'cdc' | 'ledger' | 'feed';

export interface TableNames {
  kv: string;
  kvVersionSeq: string;
  queue: string;
  deadLetters: string;
  cdcPositions: string;
  ledger: string;
  ledgerChanges: string;
  feeds: string;
  feedEntries: string;
  feedReaders: string;
}

export function tableNames(config: PostgresConfig): TableNames {
  const s = config.schema;
  return {
    kv: qualified(s, config.table),
    kvVersionSeq: qualified(s, `${config.table}_version_seq`),
    queue: qualified(s, config.queueTable),
    deadLetters: qualified(s, `${config.queueTable}_dead_letters`),
    cdcPositions: qualified(s, 'cdc_positions'),
    ledger: qualified(s, 'ledger'),
    ledgerChanges: qualified(s, 'ledger_changes'),
    feeds: qualified(s, 'feeds'),
    feedEntries: qualified(s, 'feed_entries'),
    feedReaders: qualified(s, 'feed_readers'),
  };
}

/** Objects whose existence means the part is ready, and the statements that create it. */
function partDdl(config: PostgresConfig, part: SchemaPart): { objects: string[]; statements: string[] } {
  const t = tableNames(config);
  const index = (name: string): string => quoteIdent(name);
  switch (part) {
    case 'kv':
      return {
        objects: [t.kv, t.kvVersionSeq],
        statements: [
          // Versions come from a sequence, so a deleted and re-created key never reuses a version.
          `CREATE SEQUENCE IF NOT EXISTS ${t.kvVersionSeq}`,
          // COLLATE "C": byte order for scans, and LIKE 'prefix%' can use the primary key index.
          `CREATE TABLE IF NOT EXISTS ${t.kv} (
             key text COLLATE "C" PRIMARY KEY,
             value bytea NOT NULL,
             version bigint NOT NULL,
             expires_at timestamptz
           )`,
          `CREATE INDEX IF NOT EXISTS ${index(`${config.table}_expires_at_idx`)}
             ON ${t.kv} (expires_at) WHERE expires_at IS NOT NULL`,
        ],
      };
    case 'queue':
      return {
        objects: [t.queue, t.deadLetters],
        statements: [
          `CREATE TABLE IF NOT EXISTS ${t.queue} (
             id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
             queue text NOT NULL,
             message_id text NOT NULL,
             payload bytea NOT NULL,
             headers jsonb NOT NULL,
             enqueued_at timestamptz NOT NULL DEFAULT now(),
             visible_at timestamptz NOT NULL,
             delivery_count integer NOT NULL DEFAULT 0,
             max_deliveries integer,
             receipt text
           )`,
          `CREATE INDEX IF NOT EXISTS ${index(`${config.queueTable}_visible_idx`)}
             ON ${t.queue} (queue, visible_at, id)`,
          `CREATE TABLE IF NOT EXISTS ${t.deadLetters} (
             id bigint PRIMARY KEY,
             queue text NOT NULL,
             message_id text NOT NULL,
             payload bytea NOT NULL,
             headers jsonb NOT NULL,
             enqueued_at timestamptz NOT NULL,
             delivery_count integer NOT NULL,
             dead_at timestamptz NOT NULL DEFAULT now()
           )`,
          `CREATE INDEX IF NOT EXISTS ${index(`${config.queueTable}_dead_letters_queue_idx`)}
             ON ${t.deadLetters} (queue, dead_at, id)`,
        ],
      };
    case 'cdc':
      return {
        objects: [t.cdcPositions],
        statements: [
          // A position inside a transaction (changes up to `sequence` of the transaction committed
          // at commit_lsn are delivered): replication slots only know whole transactions.
          `CREATE TABLE IF NOT EXISTS ${t.cdcPositions} (
             slot text PRIMARY KEY,
             commit_lsn pg_lsn NOT NULL,
             sequence integer NOT NULL,
             updated_at timestamptz NOT NULL DEFAULT now()
           )`,
        ],
      };
    case 'ledger':
      return {
        objects: [t.ledger, t.ledgerChanges],
        statements: [
          `CREATE TABLE IF NOT EXISTS ${t.ledger} (
             key text COLLATE "C" PRIMARY KEY,
             count bigint NOT NULL
           )`,
          // One row per applied change: the primary key is what makes a change apply at most once.
          `CREATE TABLE IF NOT EXISTS ${t.ledgerChanges} (
             key text COLLATE "C" NOT NULL,
             change_id text COLLATE "C" NOT NULL,
             delta bigint NOT NULL,
             expires_at timestamptz NOT NULL,
             PRIMARY KEY (key, change_id)
           )`,
          `CREATE INDEX IF NOT EXISTS ${index('ledger_changes_expires_at_idx')} ON ${t.ledgerChanges} (expires_at)`,
        ],
      };
    case 'feed':
      return {
        objects: [t.feeds, t.feedEntries, t.feedReaders],
        statements: [
          // One row per feed: its last offset (taken under the row's lock, so offsets commit in
          // order) and the largest offset trimmed away.
          `CREATE TABLE IF NOT EXISTS ${t.feeds} (
             feed text COLLATE "C" PRIMARY KEY,
             last_offset bigint NOT NULL,
             trimmed bigint
           )`,
          `CREATE TABLE IF NOT EXISTS ${t.feedEntries} (
             feed text COLLATE "C" NOT NULL,
             offset_no bigint NOT NULL,
             key text COLLATE "C" NOT NULL,
             value bytea NOT NULL,
             PRIMARY KEY (feed, offset_no)
           )`,
          `CREATE TABLE IF NOT EXISTS ${t.feedReaders} (
             feed text COLLATE "C" NOT NULL,
             reader text COLLATE "C" NOT NULL,
             committed bigint NOT NULL,
             PRIMARY KEY (feed, reader)
           )`,
        ],
      };
  }
}

/** Creates the part's schema objects when any is missing. */
export async function ensurePart(pool: Pool, config: PostgresConfig, part: SchemaPart): Promise<void> {
  const { objects, statements } = partDdl(config, part);
  const present = await pool.query<{ missing: number }>(
    'SELECT count(*)::int AS missing FROM unnest($1::text[]) AS o(name) WHERE to_regclass(o.name) IS NULL',
    [objects],
  );
  if (present.rows[0]?.missing === 0) return;
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`prism-patterns:ddl:${config.schema}`]);
    const schema = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [config.schema]);
    // CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when the schema exists.
    if (schema.rowCount === 0) await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(config.schema)}`);
    for (const statement of statements) await client.query(statement);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw err;
  } finally {
    client.release(broken);
  }
}
