// The transactional outbox table, read and marked through the pattern's own pg pool:
//   id, aggregate_type, aggregate_id, event_type, payload jsonb, created_at, published_at
// Rows are read oldest first (created_at, id) and marked published only after the sink accepted
// them, so a crash in between publishes them again (same ids: consumers drop duplicates). A poll
// can skip the ranges of batches still in flight, so the next batch is read while one is delivered.
import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'pg';
import type { OutboxRow } from '../../workflows/cdc/outbox';
import { CDC_CONFIG_ERROR, type OutboxPosition, type OutboxRange } from '../../workflows/cdc/activities';

export const OUTBOX_COLUMNS = [
  'id',
  'aggregate_type',
  'aggregate_id',
  'event_type',
  'payload',
  'created_at',
  'published_at',
] as const;

const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;

export function splitTable(name: string): { schema: string; table: string } {
  const dot = name.indexOf('.');
  return dot < 0 ? { schema: 'public', table: name } : { schema: name.slice(0, dot), table: name.slice(dot + 1) };
}

export function qualifiedTable(name: string): string {
  const { schema, table } = splitTable(name);
  return `${quote(schema)}.${quote(table)}`;
}

/** Fails non-retryably when the table is missing or lacks an outbox column. */
export async function checkOutboxTable(pool: Pool, name: string): Promise<void> {
  const { schema, table } = splitTable(name);
  const result = await pool.query<{ column_name: string }>(
    'SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2',
    [schema, table],
  );
  if (result.rowCount === 0) {
    throw ApplicationFailure.nonRetryable(`outbox table not found: ${schema}.${table}`, CDC_CONFIG_ERROR);
  }
  const have = new Set(result.rows.map((r) => r.column_name));
  const missing = OUTBOX_COLUMNS.filter((c) => !have.has(c));
  if (missing.length > 0) {
    throw ApplicationFailure.nonRetryable(
      `outbox table ${schema}.${table} lacks column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`,
      CDC_CONFIG_ERROR,
    );
  }
}

/** An unpublished row and its exact position in outbox order. */
export interface PolledRow extends OutboxRow {
  position: OutboxPosition;
}

/**
 * Up to `limit` unpublished rows, oldest first (created_at, id), leaving out the rows inside the
 * `skip` ranges (batches still in flight). Ranges compare (created_at, id) in the columns' own
 * types: the id parameter takes the id column's type, so bigint ids order as numbers.
 */
export async function readUnpublished(
  pool: Pool,
  name: string,
  limit: number,
  skip: readonly OutboxRange[] = [],
): Promise<PolledRow[]> {
  const params: unknown[] = [limit];
  const param = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  const position = (p: OutboxPosition): string => `(${param(p.createdAt)}::timestamptz, ${param(p.id)})`;
  const skipped = skip
    .map((r) => ` AND NOT ((created_at, id) >= ${position(r.from)} AND (created_at, id) <= ${position(r.to)})`)
    .join('');
  const result = await pool.query<{
    id: string;
    aggregate_type: string;
    aggregate_id: string;
    event_type: string;
    payload: unknown;
    created_at: Date;
    created_at_text: string;
  }>(
    `SELECT id::text AS id, aggregate_type, aggregate_id::text AS aggregate_id, event_type, payload, created_at,
            created_at::text AS created_at_text
     FROM ${qualifiedTable(name)} WHERE published_at IS NULL${skipped} ORDER BY created_at, id LIMIT $1`,
    params,
  );
  return result.rows.map((r) => ({
    id: r.id,
    aggregateType: r.aggregate_type,
    aggregateId: r.aggregate_id,
    eventType: r.event_type,
    payload: r.payload,
    createdAt: new Date(r.created_at).toISOString(),
    position: { createdAt: r.created_at_text, id: r.id },
  }));
}

export async function markPublished(pool: Pool, name: string, ids: string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const result = await pool.query(
    `UPDATE ${qualifiedTable(name)} SET published_at = now() WHERE id::text = ANY($1::text[]) AND published_at IS NULL`,
    [ids],
  );
  return result.rowCount ?? 0;
}

/** WAL bytes a replication slot still holds; null when the slot is missing. */
export async function slotLagBytes(pool: Pool, slot: string): Promise<number | null> {
  const result = await pool.query<{ lag: string | null }>(
    `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS lag
     FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const lag = result.rows[0]?.lag;
  return lag == null ? null : Number(lag);
}
