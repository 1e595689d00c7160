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
//
// PgCdcSnapshot offers this as the cdc_snapshot capability: one store per bookkeeping schema.
import type { Client, Pool, PoolClient } from 'pg';
import type { CdcSnapshot, RowChange, SnapshotInfo, SnapshotScope } from '../capabilities';
import { DriverError } from '../errors';
import type { PgCdcSource } from './cdc-source';
import { parseTableName } from './cdc-source';
import { decodeTextValue } from './cdc-values';
import type { PgContext } from './context';
import { toDriverError } from './pg-errors';
import { checkText, DRIVER, qualified, quoteIdent } from './sql';

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
   * every table's rows as of that snapshot.
   */
  async take(options: { replication: () => Client; slot: string; tables: string[] }): Promise<SnapshotMarker> {
    await this.ensure();
    const { slot } = options;
    await this.pool.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [
      slot,
    ]);
    const replication = options.replication();
    replication.on('error', () => undefined);
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

/** cdc_snapshot on the driver's pool; `replication` opens a replication connection with its settings. */
export class PgCdcSnapshot implements CdcSnapshot {
  private readonly stores = new Map<string, SnapshotStore>();

  constructor(
    private readonly ctx: PgContext,
    private readonly cdc: PgCdcSource,
    private readonly replication: () => Client,
  ) {}

  private store(scope: SnapshotScope): SnapshotStore {
    this.ctx.assertOpen();
    const schema = scope.schema === undefined ? this.ctx.config.schema : checkText('schema', scope.schema, 63);
    let store = this.stores.get(schema);
    if (!store) this.stores.set(schema, (store = new SnapshotStore(this.ctx.pool, schema)));
    return store;
  }

  private async run<T>(action: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw toDriverError(err, action);
    }
  }

  /**
   * A slot made for a snapshot gets one, consistent with its start; a crash while copying leaves
   * the marker pending, and the next call starts over with a new slot.
   */
  async prepareSnapshot(
    options: SnapshotScope & { publication: string; tables: string[] },
  ): Promise<SnapshotInfo | null> {
    const s = this.store(options);
    const capture = { slot: options.slot, publication: options.publication, tables: options.tables };
    return this.run('prepare snapshot', async () => {
      let marker = await s.marker(options.slot);
      if (!marker) {
        const slotThere = await this.ctx.query('find slot', 'SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [
          options.slot,
        ]);
        // The slot already streams (made without a snapshot): its position is kept, no snapshot.
        if ((slotThere.rowCount ?? 0) > 0) {
          await this.cdc.ensureCapture(capture);
          return null;
        }
        await s.begin(options.slot);
      }
      // Publication first (decoding looks it up from the slot's start on), then the slot's checks.
      await this.cdc.ensureCapture(capture);
      marker = await s.marker(options.slot);
      if (marker?.state === 'pending') {
        marker = await s.take({ replication: this.replication, slot: options.slot, tables: options.tables });
      }
      if (!marker || marker.state === 'pending') return null;
      return { state: marker.state, lsn: marker.lsn, rows: marker.rows, deliveredUpTo: marker.deliveredUpTo };
    });
  }

  async readSnapshot(options: SnapshotScope & { after: number; limit: number }): Promise<RowChange[]> {
    const s = this.store(options);
    if (!Number.isSafeInteger(options.after) || options.after < 0) {
      throw new DriverError(DRIVER, 'InvalidArgument', 'after must be a non-negative integer');
    }
    if (!Number.isSafeInteger(options.limit) || options.limit < 1 || options.limit > 10_000) {
      throw new DriverError(DRIVER, 'InvalidArgument', 'limit must be an integer from 1 to 10000');
    }
    return this.run('read snapshot', () => s.read(options.slot, options.after, options.limit));
  }

  async finishSnapshot(options: SnapshotScope): Promise<void> {
    const s = this.store(options);
    return this.run('finish snapshot', () => s.finish(options.slot));
  }

  async forgetSnapshot(options: SnapshotScope): Promise<void> {
    const s = this.store(options);
    return this.run('forget snapshot', () => s.forget(options.slot));
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
