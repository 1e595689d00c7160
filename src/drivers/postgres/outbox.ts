// outbox_source over a transactional outbox table:
//   id, aggregate_type, aggregate_id, event_type, payload jsonb, created_at, published_at
// Rows are read oldest first (created_at, id) and marked published only after the caller's sink
// accepted them, so a crash in between reads them again (same ids: consumers drop duplicates). A
// poll can skip the ranges of batches still in flight, so the next batch is read while one is
// delivered.
import type { OutboxEntry, OutboxLag, OutboxPosition, OutboxRange, OutboxSource } from '../capabilities';
import { DriverError } from '../errors';
import { checkLimit } from '../limits';
import { parseTableName } from './cdc-source';
import type { PgContext } from './context';
import { checkText, DRIVER, qualified } from './sql';

export const OUTBOX_COLUMNS = [
  'id',
  'aggregate_type',
  'aggregate_id',
  'event_type',
  'payload',
  'created_at',
  'published_at',
] as const;

/** "schema.table" or "table" (schema public), as the table's quoted name and its parts. */
function outboxTable(name: unknown): { schema: string; table: string; sql: string } {
  const t = parseTableName(name);
  const schema = t.schema ?? 'public';
  return { schema, table: t.table, sql: qualified(schema, t.table) };
}

function checkPosition(what: string, p: unknown): OutboxPosition {
  const position = (p ?? {}) as Partial<OutboxPosition>;
  return { createdAt: checkText(`${what}.createdAt`, position.createdAt), id: checkText(`${what}.id`, position.id) };
}

function checkSkip(skip: unknown): OutboxRange[] {
  if (skip === undefined) return [];
  if (!Array.isArray(skip) || skip.length > 100) {
    throw new DriverError(DRIVER, 'InvalidArgument', 'skip must be an array of at most 100 ranges');
  }
  return skip.map((r: Partial<OutboxRange> | null, i) => ({
    from: checkPosition(`skip[${i}].from`, r?.from),
    to: checkPosition(`skip[${i}].to`, r?.to),
  }));
}

export class PgOutbox implements OutboxSource {
  constructor(private readonly ctx: PgContext) {}

  async checkOutbox(options: { table: string }): Promise<void> {
    const { schema, table } = outboxTable(options?.table);
    const result = await this.ctx.query<{ column_name: string }>(
      'check outbox table',
      'SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2',
      [schema, table],
    );
    if (result.rowCount === 0) {
      throw new DriverError(DRIVER, 'NotFound', `outbox table not found: ${schema}.${table}`);
    }
    const have = new Set(result.rows.map((r) => r.column_name));
    const missing = OUTBOX_COLUMNS.filter((c) => !have.has(c));
    if (missing.length > 0) {
      throw new DriverError(
        DRIVER,
        'InvalidArgument',
        `outbox table ${schema}.${table} lacks column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`,
      );
    }
  }

  /**
   * Ranges compare (created_at, id) in the columns' own types: the id parameter takes the id
   * column's type, so bigint ids order as numbers.
   */
  async pollOutbox(options: { table: string; limit: number; skip?: OutboxRange[] }): Promise<OutboxEntry[]> {
    const { sql } = outboxTable(options?.table);
    const limit = checkLimit(DRIVER, options.limit, 500);
    const params: unknown[] = [limit];
    const param = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    const position = (p: OutboxPosition): string => `(${param(p.createdAt)}::timestamptz, ${param(p.id)})`;
    const skipped = checkSkip(options.skip)
      .map((r) => ` AND NOT ((created_at, id) >= ${position(r.from)} AND (created_at, id) <= ${position(r.to)})`)
      .join('');
    const result = await this.ctx.query<{
      id: string;
      aggregate_type: string;
      aggregate_id: string;
      event_type: string;
      payload: unknown;
      created_at: Date;
      created_at_text: string;
    }>(
      'poll outbox',
      `SELECT id::text AS id, aggregate_type, aggregate_id::text AS aggregate_id, event_type, payload, created_at,
              created_at::text AS created_at_text
       FROM ${sql} WHERE published_at IS NULL${skipped} ORDER BY created_at, id LIMIT $1`,
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

  async markPublished(options: { table: string; ids: string[] }): Promise<number> {
    const { sql } = outboxTable(options?.table);
    const ids = options.ids;
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) {
      throw new DriverError(DRIVER, 'InvalidArgument', 'ids must be an array of strings');
    }
    if (ids.length === 0) return 0;
    const result = await this.ctx.query(
      'mark outbox rows published',
      `UPDATE ${sql} SET published_at = now() WHERE id::text = ANY($1::text[]) AND published_at IS NULL`,
      [ids],
    );
    return result.rowCount ?? 0;
  }

  async outboxLag(options: { table: string }): Promise<OutboxLag> {
    const { sql } = outboxTable(options?.table);
    const result = await this.ctx.query<{ unpublished: string; oldest: Date | null }>(
      'outbox lag',
      `SELECT count(*)::text AS unpublished, min(created_at) AS oldest FROM ${sql} WHERE published_at IS NULL`,
    );
    const row = result.rows[0];
    return {
      unpublished: Number(row?.unpublished ?? 0),
      oldestUnpublishedAt: row?.oldest ? new Date(row.oldest).toISOString() : null,
    };
  }
}
