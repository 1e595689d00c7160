// Debezium-style change events. Pure: built where changes are read and checked by unit tests.
// An event's id (commit LSN + sequence within the transaction) is the same every time the change is
// read again, so consumers drop redelivered duplicates by id. A TRUNCATE is an event of its own per
// table (op 't', as Debezium's): `before` and `after` null, `key` empty, `source` naming the table.
import type { ChangeOp, RowChange } from '../../drivers/capabilities';

export interface CdcEvent {
  /**
   * Stable id: `<commit LSN>:<sequence>` for row changes, `<snapshot LSN>:r:<schema.table>:<key>`
   * for snapshot rows, `outbox:<table>:<id>` for outbox rows.
   */
  id: string;
  op: ChangeOp;
  source: {
    db: string;
    schema: string;
    table: string;
    lsn: string;
    txId: number | null;
    sequence: number;
    /** Commit time. */
    ts_ms: number;
  };
  key: Record<string, unknown>;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  /** The commit time too (not the processing time): a redelivered event is byte-identical. */
  ts_ms: number;
}

/** What the sink activity publishes: a topic, a message key, and the JSON body. */
export interface OutboundMessage {
  id: string;
  topic: string;
  /** JSON of the primary key (or the outbox row's aggregate id): per-key order is kept for it. */
  key: string;
  op: string;
  table: string;
  body: unknown;
  /** ISO commit (or created_at) time, for lag in seconds. */
  committedAt: string;
}

export function eventId(lsn: string, sequence: number): string {
  return `${lsn}:${sequence}`;
}

/** The message key: the primary key columns as JSON, in key column order. */
export function messageKey(key: Record<string, unknown>): string {
  return JSON.stringify(key);
}

export function buildEvent(change: RowChange, db: string): CdcEvent {
  const ts = Date.parse(change.commitTime);
  const tsMs = Number.isFinite(ts) ? ts : 0;
  return {
    // A snapshot row: the snapshot's LSN, the table and the key (the same if it is read again).
    id:
      change.op === 'r'
        ? `${change.lsn}:r:${change.schema}.${change.table}:${messageKey(change.key)}`
        : eventId(change.lsn, change.sequence),
    op: change.op,
    source: {
      db,
      schema: change.schema,
      table: change.table,
      lsn: change.lsn,
      txId: change.txId,
      sequence: change.sequence,
      ts_ms: tsMs,
    },
    key: change.key,
    before: change.before,
    after: change.after,
    ts_ms: tsMs,
  };
}
