// pgoutput messages as RowChanges: shared by the one-shot read (cdc-source.ts readChanges) and the
// replication stream (cdc-stream.ts). Relations are described once per session by 'relation'
// messages and kept by id; keys come from the table's primary key, else its replica identity
// columns, else the whole row.
import type { RowChange } from '../capabilities';
import { decodeTextValue } from './cdc-values';
import type { PgContext } from './context';
import { formatLsn, PgOutputError, type PgOutputMessage, type RelationColumn, type TupleValue } from './pgoutput';

export interface Relation {
  schema: string;
  table: string;
  columns: RelationColumn[];
}

/** A change and the relation it came from (its key is filled in later, by KeyFinder). */
export interface PendingChange {
  change: RowChange;
  relationId: number;
}

/** The transaction a change belongs to, as its 'begin' message described it. */
export interface TxInfo {
  finalLsn: bigint;
  xid: number;
  commitTime: string;
  /** 1-based position of this change within the transaction. */
  sequence: number;
}

export function relationOf(message: Extract<PgOutputMessage, { tag: 'relation' }>): Relation {
  return { schema: message.schema, table: message.table, columns: message.columns };
}

/**
 * A tuple as a row object. keyOnly: the tuple holds only replica identity columns (others are
 * sent as null and left out). Unchanged TOAST values are taken from `fallback` (the old row) or
 * left out when it does not have them.
 */
function rowOf(
  relation: Relation,
  tuple: TupleValue[],
  fallback: Record<string, unknown> | null,
  keyOnly: boolean,
): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  relation.columns.forEach((column, i) => {
    if (keyOnly && (column.flags & 1) === 0) return;
    const value = tuple[i];
    if (!value) return;
    if (value.kind === 'text') row[column.name] = decodeTextValue(column.typeOid, value.text);
    else if (value.kind === 'null') row[column.name] = null;
    else if (fallback && column.name in fallback) row[column.name] = fallback[column.name];
  });
  return row;
}

/** An insert, update or delete as a change (key still empty). */
export function rowChangeOf(
  message: Extract<PgOutputMessage, { tag: 'insert' | 'update' | 'delete' }>,
  relations: ReadonlyMap<number, Relation>,
  tx: TxInfo,
): PendingChange {
  const relation = relations.get(message.relationId);
  if (!relation) throw new PgOutputError(`change for relation ${message.relationId} before its description`);
  let before: Record<string, unknown> | null = null;
  let after: Record<string, unknown> | null = null;
  let op: RowChange['op'];
  switch (message.tag) {
    case 'insert':
      op = 'c';
      after = rowOf(relation, message.newTuple, null, false);
      break;
    case 'update':
      op = 'u';
      before = message.oldTuple ? rowOf(relation, message.oldTuple, null, message.oldKind === 'K') : null;
      after = rowOf(relation, message.newTuple, before, false);
      break;
    case 'delete':
      op = 'd';
      before = rowOf(relation, message.oldTuple, null, message.oldKind === 'K');
      break;
  }
  return {
    relationId: message.relationId,
    change: {
      op,
      schema: relation.schema,
      table: relation.table,
      lsn: formatLsn(tx.finalLsn),
      txId: tx.xid,
      sequence: tx.sequence,
      before,
      after,
      key: {},
      commitTime: tx.commitTime,
    },
  };
}

/** A truncated table: no row, so before, after and key stay empty. */
export function truncationOf(relationId: number, relations: ReadonlyMap<number, Relation>, tx: TxInfo): PendingChange {
  const relation = relations.get(relationId);
  if (!relation) throw new PgOutputError(`truncate of relation ${relationId} before its description`);
  return {
    relationId,
    change: {
      op: 't',
      schema: relation.schema,
      table: relation.table,
      lsn: formatLsn(tx.finalLsn),
      txId: tx.xid,
      sequence: tx.sequence,
      before: null,
      after: null,
      key: {},
      commitTime: tx.commitTime,
    },
  };
}

/** Fills in keys: primary key columns (looked up once per relation), else replica identity, else the row. */
export class KeyFinder {
  /** Primary key columns by relation id (null: the table has none). */
  private readonly primaryKeys = new Map<number, string[] | null>();

  constructor(
    private readonly ctx: PgContext,
    private readonly relations: ReadonlyMap<number, Relation>,
  ) {}

  async fill(pending: readonly PendingChange[]): Promise<void> {
    const unknown = [...new Set(pending.map((p) => p.relationId))].filter((id) => !this.primaryKeys.has(id));
    if (unknown.length > 0) {
      const result = await this.ctx.query<{ relid: string; columns: string[] }>(
        'reading primary keys',
        `SELECT i.indrelid::bigint::text AS relid, array_agg(a.attname::text ORDER BY k.ord) AS columns
         FROM pg_index i
         CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
         WHERE i.indisprimary AND i.indrelid = ANY($1::oid[])
         GROUP BY i.indrelid`,
        [unknown],
      );
      for (const id of unknown) this.primaryKeys.set(id, null);
      for (const row of result.rows) this.primaryKeys.set(Number(row.relid), row.columns);
    }
    for (const { change, relationId } of pending) {
      const row = change.after ?? change.before ?? {};
      const relation = this.relations.get(relationId);
      const columns =
        this.primaryKeys.get(relationId) ??
        relation?.columns.filter((c) => (c.flags & 1) !== 0).map((c) => c.name) ??
        Object.keys(row);
      const key: Record<string, unknown> = {};
      for (const column of columns.length > 0 ? columns : Object.keys(row)) {
        if (column in row) key[column] = row[column];
      }
      change.key = key;
    }
  }
}
