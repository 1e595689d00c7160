// The initial snapshot of a CDC pipeline, consistent with the point where streaming begins.
//
// takeSnapshot creates the pipeline's logical slot over a replication connection with
// EXPORT_SNAPSHOT: Postgres returns the slot's consistent point (the LSN streaming starts after)
// and the name of a snapshot that sees exactly the rows committed before it. While that
// connection stays open, a second connection imports the snapshot (REPEATABLE READ) and copies
// every captured table, in primary-key order, into a staging table as text values (the text form
// pgoutput sends, so 'r' rows decode like streamed ones), and marks the snapshot "staged" in the
// same transaction. Streamed changes all commit after the consistent point, so each row shows up
// either in the snapshot or in the stream, never in both and never in neither.
//
// The staged rows are then read in chunks (readSnapshotRows) and delivered like any change
// (op 'r'); the marker keeps how far delivery got, so a new run resumes there. A crash while
// copying rolls the copy back with its transaction (the exported snapshot dies with its
// connection): the marker stays "pending", and the next attempt drops the slot and starts over.
// A crash while delivering repeats at most the chunks not yet recorded (same event ids).
import type { Client, Pool, PoolClient } from 'pg';
import type { RowChange } from '../capabilities';
import { DriverError } from '../errors';
import { parseTableName } from './cdc-source';
import { decodeTextValue } from './cdc-values';
import { DRIVER, qualified, quoteIdent } from './sql';

export type SnapshotState = 'pending' | 'staged' | 'done';

export interface SnapshotMarker {
  state: SnapshotState;
  /** The slot's consistent point: streaming starts after it. */
  lsn: string | null;
  rows: number;
  /** Rows 1..deliveredUpTo are delivered. */
  deliveredUpTo: number;
  takenAt: string | null;
}

interface StagedTable {
  schema: string;
  table: string;
  columns: { name: string; typeOid: number }[];
  key: string[];
}

/** Same settings as the stream's decoding session (see cdc-source.ts): same value text. */
const SESSION_SETTINGS = [
  `SET LOCAL TimeZone = 'UTC'`,
  `SET LOCAL DateStyle = 'ISO, YMD'`,
  `SET LOCAL bytea_output = 'hex'`,
  `SET LOCAL extra_float_digits = 1`,
];

export class SnapshotStore {
  private readonly markers: string;
  private readonly rowsTable: string;
  private ready: Promise<void> | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
  ) {
    this.markers = qualified(schema, 'cdc_snapshots');
    this.rowsTable = qualified(schema, 'cdc_snapshot_rows');
  }

  private ensure(): Promise<void> {
    this.ready ??= (async () => {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
          `prism-patterns:cdc-snapshot:${this.schema}`,
        ]);
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.schema)}`);
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${this.markers} (
             slot text PRIMARY KEY,
             state text NOT NULL,
             lsn pg_lsn,
             rows bigint NOT NULL DEFAULT 0,
             delivered_upto bigint NOT NULL DEFAULT 0,
             tables jsonb NOT NULL DEFAULT '[]',
             taken_at timestamptz
           )`,
        );
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${this.rowsTable} (
             slot text NOT NULL,
             n bigint NOT NULL,
             tbl int NOT NULL,
             vals text[] NOT NULL,
             PRIMARY KEY (slot, n)
           )`,
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    })();
    this.ready.catch(() => (this.ready = undefined));
    return this.ready;
  }

  async marker(slot: string): Promise<SnapshotMarker | null> {
    await this.ensure();
    const result = await this.pool.query<{
      state: SnapshotState;
      lsn: string | null;
      rows: string;
      delivered_upto: string;
      taken_at: Date | null;
    }>(`SELECT state, lsn::text AS lsn, rows, delivered_upto, taken_at FROM ${this.markers} WHERE slot = $1`, [slot]);
    const row = result.rows[0];
    if (!row) return null;
    return {
      state: row.state,
      lsn: row.lsn,
      rows: Number(row.rows),
      deliveredUpTo: Number(row.delivered_upto),
      takenAt: row.taken_at?.toISOString() ?? null,
    };
  }

  /** Records that this slot is to get a snapshot (before the slot is made, so a crash is recognised). */
  async begin(slot: string): Promise<void> {
    await this.ensure();
    await this.pool.query(`INSERT INTO ${this.markers} (slot, state) VALUES ($1, 'pending') ON CONFLICT DO NOTHING`, [
      slot,
    ]);
  }

  /**
   * Drops the slot (an earlier attempt's), creates it again with an exported snapshot, and stages
   * every table's rows as of that snapshot. `beat` is called now and then while it runs.
   */
  async take(options: { url: string; slot: string; tables: string[]; beat: () => void }): Promise<SnapshotMarker> {
    await this.ensure();
    const { slot } = options;
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- pg is an optional peer
    const pg = require('pg') as typeof import('pg');
    await this.pool.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [
      slot,
    ]);
    const replication: Client = new pg.Client({ connectionString: options.url, replication: 'database' } as never);
    replication.on('error', () => undefined);
    const timer = setInterval(options.beat, 1_000);
    try {
      await replication.connect();
      // EXPORT_SNAPSHOT (accepted from PostgreSQL 10 on; 15 also spells it (SNAPSHOT 'export')).
      const created = await replication.query<{ consistent_point: string; snapshot_name: string }>(
        `CREATE_REPLICATION_SLOT ${quoteIdent(slot)} LOGICAL pgoutput EXPORT_SNAPSHOT`,
      );
      const { consistent_point: lsn, snapshot_name: snapshotName } = created.rows[0]!;
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
        await client.query(`SET TRANSACTION SNAPSHOT '${snapshotName.replace(/'/g, "''")}'`);
        for (const statement of SESSION_SETTINGS) await client.query(statement);
        await client.query(`DELETE FROM ${this.rowsTable} WHERE slot = $1`, [slot]);
        const tables = await describeTables(client, options.tables);
        let total = 0;
        for (const [index, t] of tables.entries()) {
          const order = t.key.length > 0 ? `ORDER BY ${t.key.map(quoteIdent).join(', ')}` : '';
          const values = t.columns.map((c) => `${quoteIdent(c.name)}::text`).join(', ');
          const copied = await client.query(
            `INSERT INTO ${this.rowsTable} (slot, n, tbl, vals)
             SELECT $1, $2::bigint + row_number() OVER (${order}), $3, ARRAY[${values}]::text[]
             FROM ${qualified(t.schema, t.table)}`,
            [slot, total, index],
          );
          total += copied.rowCount ?? 0;
          options.beat();
        }
        await client.query(
          `UPDATE ${this.markers} SET state = 'staged', lsn = $2::pg_lsn, rows = $3, delivered_upto = 0,
             tables = $4::jsonb, taken_at = now()
           WHERE slot = $1`,
          [slot, lsn, total, JSON.stringify(tables)],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    } finally {
      clearInterval(timer);
      await replication.end().catch(() => undefined);
    }
    return (await this.marker(slot))!;
  }

  /**
   * Up to `limit` staged rows after row `after`, as 'r' changes; also records that rows up to
   * `after` are delivered (the caller asks for the next chunk only once the previous one is).
   */
  async read(slot: string, after: number, limit: number): Promise<RowChange[]> {
    await this.ensure();
    const marker = await this.pool.query<{ lsn: string; tables: StagedTable[]; taken_at: Date }>(
      `UPDATE ${this.markers} SET delivered_upto = greatest(delivered_upto, $2)
       WHERE slot = $1 AND state = 'staged'
       RETURNING lsn::text AS lsn, tables, taken_at`,
      [slot, after],
    );
    const m = marker.rows[0];
    if (!m) throw new DriverError(DRIVER, 'NotFound', `no staged snapshot for slot "${slot}"`);
    const rows = await this.pool.query<{ n: string; tbl: number; vals: (string | null)[] }>(
      `SELECT n, tbl, vals FROM ${this.rowsTable} WHERE slot = $1 AND n > $2 ORDER BY n LIMIT $3`,
      [slot, after, limit],
    );
    const takenAt = m.taken_at.toISOString();
    return rows.rows.map((row) => {
      const t = m.tables[row.tbl]!;
      const after: Record<string, unknown> = {};
      t.columns.forEach((c, i) => {
        const text = row.vals[i];
        after[c.name] = text === null || text === undefined ? null : decodeTextValue(c.typeOid, text);
      });
      const key: Record<string, unknown> = {};
      for (const k of t.key.length > 0 ? t.key : t.columns.map((c) => c.name)) key[k] = after[k];
      return {
        op: 'r',
        schema: t.schema,
        table: t.table,
        lsn: m.lsn,
        txId: null,
        sequence: Number(row.n),
        before: null,
        after,
        key,
        commitTime: takenAt,
      } satisfies RowChange;
    });
  }

  /** Every staged row is delivered: drops them and keeps the marker as done. */
  async finish(slot: string): Promise<void> {
    await this.ensure();
    await this.pool.query(
      `UPDATE ${this.markers} SET state = 'done', delivered_upto = rows, tables = '[]' WHERE slot = $1`,
      [slot],
    );
    await this.pool.query(`DELETE FROM ${this.rowsTable} WHERE slot = $1`, [slot]);
  }

  /** Forgets the slot's snapshot (with `prism cdc drop`). */
  async forget(slot: string): Promise<void> {
    await this.ensure();
    await this.pool.query(`DELETE FROM ${this.rowsTable} WHERE slot = $1`, [slot]);
    await this.pool.query(`DELETE FROM ${this.markers} WHERE slot = $1`, [slot]);
  }
}

/** Columns (as pgoutput sends them: no generated ones) and primary key of each table. */
async function describeTables(client: PoolClient, names: string[]): Promise<StagedTable[]> {
  const tables: StagedTable[] = [];
  const seen = new Set<string>();
  for (const name of names) {
    const t = parseTableName(name);
    const spec = t.schema === null ? quoteIdent(t.table) : qualified(t.schema, t.table);
    const rel = await client.query<{ oid: number; schema: string; table: string }>(
      `SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS table
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`,
      [spec],
    );
    const r = rel.rows[0];
    if (!r) throw new DriverError(DRIVER, 'NotFound', `table not found: ${name}`);
    if (seen.has(`${r.schema}.${r.table}`)) continue;
    seen.add(`${r.schema}.${r.table}`);
    const columns = await client.query<{ name: string; type_oid: number }>(
      `SELECT attname::text AS name, atttypid::int AS type_oid FROM pg_attribute
       WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
       ORDER BY attnum`,
      [r.oid],
    );
    const key = await client.query<{ name: string }>(
      `SELECT a.attname::text AS name
       FROM pg_index i
       CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
       WHERE i.indisprimary AND i.indrelid = $1
       ORDER BY k.ord`,
      [r.oid],
    );
    tables.push({
      schema: r.schema,
      table: r.table,
      columns: columns.rows.map((c) => ({ name: c.name, typeOid: c.type_oid })),
      key: key.rows.map((k) => k.name),
    });
  }
  return tables;
}
