// cdc_source over a logical replication slot with the pgoutput plugin, read through SQL:
// readChanges peeks (pg_logical_slot_peek_binary_changes, which never consumes) everything after
// the slot's confirmed position, and confirm advances the slot (pg_replication_slot_advance). So
// delivery is at-least-once: until confirmed, the same changes come back, in commit order.
//
// Positions. Every change of a transaction carries the transaction's commit LSN and its sequence
// (1-based) within the transaction. readChanges returns as lastLsn either the end LSN of the last
// transaction it returned whole ("0/1A2B3C4"), or, when `limit` cut a transaction, the commit LSN
// and the last sequence returned ("0/1A2B3C4#2"). Slots only know whole transactions, so such a
// position is kept in <schema>.cdc_positions and the next read skips that transaction's changes up
// to the sequence. A position is also reported past idle stretches: when nothing is pending, the
// driver writes a non-transactional logical message now and then (pg_logical_emit_message, PG 14+;
// every `cdcHeartbeatIntervalMs`), and a later read returns its LSN as lastLsn, so confirming it lets
// Postgres free WAL written by tables outside the publication. A failed heartbeat is reported
// through the DriverContext's `report` and tried again with backoff.
//
// ensureCapture creates the publication (FOR TABLE ..., or adds missing tables to an existing one)
// and the slot, and sets REPLICA IDENTITY FULL on the tables (so updates and deletes carry the
// whole old row as `before`). Tables are "schema.table" or "table" (found through search_path),
// matched exactly (no case folding; double quotes optional). Existing rows are snapshotted by
// cdc-snapshot.ts when a pipeline asks for it ('r' events).
// TRUNCATE of a captured table is reported as one change per table (op 't', no row, empty key), in
// its place among the other changes; publications made here publish truncates (the default).
import type { PoolClient } from 'pg';
import type { CdcChangeStream, CdcSource, RowChange } from '../capabilities';
import { DriverError } from '../errors';
import type { DriverEventReport } from '../events';
import { checkLimit } from '../limits';
import {
  KeyFinder,
  relationOf,
  rowChangeOf,
  truncationOf,
  type PendingChange,
  type Relation,
  type TxInfo,
} from './cdc-changes';
import { PgChangeStream } from './cdc-stream';
import type { PgContext } from './context';
import { decodePgOutput, formatLsn, parseLsn, pgTimestampToIso, PgOutputError, type PgOutputMessage } from './pgoutput';
import { sqlStateOf } from './pg-errors';
import { checkMs, checkText, DRIVER, qualified, quoteIdent, sleep } from './sql';

const SLOT_NAME = /^[a-z0-9_]{1,63}$/;
const FETCH_ROWS = 500;
const POLL_MIN_MS = 50;
const POLL_MAX_MS = 500;
/** The longest wait between heartbeat attempts after failures (unless the interval is longer). */
const HEARTBEAT_MAX_BACKOFF_MS = 300_000;
const HEARTBEAT_PREFIX = 'prism-cdc-heartbeat';
/** Settings that fix the text format of decoded values (see cdc-values.ts). */
const SESSION_SETTINGS = [
  `SET LOCAL TimeZone = 'UTC'`,
  `SET LOCAL DateStyle = 'ISO, YMD'`,
  `SET LOCAL bytea_output = 'hex'`,
  `SET LOCAL extra_float_digits = 1`,
];

interface TableRef {
  schema: string;
  table: string;
}

interface TableName {
  /** null: resolved through search_path. */
  schema: string | null;
  table: string;
  given: string;
}

/** A resume position: a transaction boundary (sequence null) or a point inside a transaction. */
interface Position {
  lsn: bigint;
  sequence: number | null;
}

function checkSlot(slot: unknown): string {
  if (typeof slot !== 'string' || !SLOT_NAME.test(slot)) {
    throw new DriverError(
      DRIVER,
      'InvalidArgument',
      'slot must be 1 to 63 characters: lower-case letters, digits and underscores',
    );
  }
  return slot;
}

function checkPublication(publication: unknown): string {
  const name = checkText('publication', publication, 63);
  return name;
}

function parsePosition(text: unknown): Position {
  if (typeof text === 'string') {
    const [lsnText, sequenceText, ...rest] = text.split('#');
    const lsn = parseLsn(lsnText ?? '');
    if (lsn !== null && rest.length === 0) {
      if (sequenceText === undefined) return { lsn, sequence: null };
      if (/^\d{1,9}$/.test(sequenceText) && Number(sequenceText) > 0) return { lsn, sequence: Number(sequenceText) };
    }
  }
  throw new DriverError(
    DRIVER,
    'InvalidArgument',
    `not a position: ${JSON.stringify(text)} (expected e.g. "0/16B3748")`,
  );
}

/** Splits "schema.table" (parts optionally double-quoted, matched exactly: no case folding). */
export function parseTableName(name: unknown): TableName {
  if (typeof name !== 'string' || name.length === 0) {
    throw new DriverError(DRIVER, 'InvalidArgument', 'table names must be non-empty strings');
  }
  const parts: string[] = [];
  let i = 0;
  while (i <= name.length) {
    let part = '';
    if (name[i] === '"') {
      i++;
      for (;;) {
        if (i >= name.length) throw new DriverError(DRIVER, 'InvalidArgument', `unterminated quote in table ${name}`);
        if (name[i] === '"') {
          if (name[i + 1] === '"') {
            part += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        part += name[i++];
      }
    } else {
      while (i < name.length && name[i] !== '.') part += name[i++];
    }
    parts.push(part);
    if (i >= name.length) break;
    if (name[i] !== '.') throw new DriverError(DRIVER, 'InvalidArgument', `bad table name ${name}`);
    i++;
  }
  if (parts.length > 2 || parts.some((p) => p.length === 0 || p.includes('\0'))) {
    throw new DriverError(DRIVER, 'InvalidArgument', `bad table name ${name} (expected schema.table or table)`);
  }
  return parts.length === 2
    ? { schema: parts[0]!, table: parts[1]!, given: name }
    : { schema: null, table: parts[0]!, given: name };
}

/**
 * Turns pgoutput messages, in order, into changes: at most `limit`, skipping the changes a
 * partial position covers, and tracking the position that covers everything returned.
 */
class Assembler {
  readonly changes: PendingChange[] = [];
  position: string | null = null;
  private tx: {
    finalLsn: bigint;
    xid: number;
    commitTime: string;
    sequence: number;
    returned: number;
    lastReturned: number;
  } | null = null;

  constructor(
    private readonly limit: number,
    private readonly partial: Position | null,
    private readonly relations: Map<number, Relation>,
  ) {}

  /** Returns false once nothing more should be read. */
  push(message: PgOutputMessage): boolean {
    switch (message.tag) {
      case 'begin':
        this.tx = {
          finalLsn: message.finalLsn,
          xid: message.xid,
          commitTime: pgTimestampToIso(message.commitTime),
          sequence: 0,
          returned: 0,
          lastReturned: 0,
        };
        return true;
      case 'relation':
        this.relations.set(message.relationId, relationOf(message));
        return true;
      case 'insert':
      case 'update':
      case 'delete':
        return this.take(message.tag, (tx) => rowChangeOf(message, this.relations, tx));
      case 'truncate':
        // One change per table (a TRUNCATE of several tables is one message), each with its own
        // sequence, so a limit may cut between them like between rows.
        for (const relationId of message.relationIds) {
          const more = this.take('truncate', (tx) => truncationOf(relationId, this.relations, tx));
          if (!more) return false;
        }
        return true;
      case 'commit':
        if (this.tx) this.position = formatLsn(message.endLsn);
        this.tx = null;
        return this.changes.length < this.limit;
      case 'message':
        // A non-transactional message is a point every earlier commit has been decoded before.
        if ((message.flags & 1) === 0 && !this.tx) this.position = formatLsn(message.lsn);
        return true;
      default:
        // origin, type: nothing to do.
        return true;
    }
  }

  /** The next change of the open transaction: skipped when a partial position covers it. */
  private take(what: string, build: (tx: TxInfo) => PendingChange): boolean {
    const tx = this.tx;
    if (!tx) throw new PgOutputError(`${what} outside a transaction`);
    tx.sequence++;
    const partial = this.partial;
    if (partial && partial.lsn === tx.finalLsn && tx.sequence <= (partial.sequence ?? 0)) return true;
    if (this.changes.length >= this.limit) {
      if (tx.returned > 0) this.position = `${formatLsn(tx.finalLsn)}#${tx.lastReturned}`;
      return false;
    }
    this.changes.push(build(tx));
    tx.returned++;
    tx.lastReturned = tx.sequence;
    return true;
  }

  /** Called after the last message: a transaction cut short (never expected) still gets a position. */
  finish(): void {
    const tx = this.tx;
    if (tx && tx.returned > 0) this.position = `${formatLsn(tx.finalLsn)}#${tx.lastReturned}`;
  }
}

export class PgCdcSource implements Omit<CdcSource, 'captureStatus'> {
  private readonly relations = new Map<number, Relation>();
  private readonly keys: KeyFinder;
  private readonly slotChains = new Map<string, Promise<unknown>>();
  private readonly heartbeats = new Map<string, number>();
  private serverVersion: number | undefined;
  /** Consecutive failed heartbeats, and no heartbeat before this time (the backoff). */
  private heartbeatFailures = 0;
  private heartbeatNotBefore = 0;

  constructor(
    private readonly ctx: PgContext,
    private readonly options: { heartbeatIntervalMs: number; report?: DriverEventReport },
  ) {
    this.keys = new KeyFinder(ctx, this.relations);
  }

  /** Runs fn after earlier operations on the same slot (a slot serves one session at a time). */
  private withSlot<T>(slot: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.slotChains.get(slot) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.slotChains.set(slot, settled);
    void settled.then(() => {
      if (this.slotChains.get(slot) === settled) this.slotChains.delete(slot);
    });
    return next;
  }

  private async version(): Promise<number> {
    if (this.serverVersion === undefined) {
      const result = await this.ctx.query<{ v: number }>(
        'reading the server version',
        `SELECT current_setting('server_version_num')::int AS v`,
      );
      this.serverVersion = result.rows[0]!.v;
    }
    return this.serverVersion;
  }

  private async checkServer(): Promise<void> {
    const result = await this.ctx.query<{ wal_level: string; v: number; role: string; replication: boolean }>(
      'ensureCapture',
      `SELECT current_setting('wal_level') AS wal_level, current_setting('server_version_num')::int AS v,
              current_user AS role,
              coalesce((SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user), false)
                AS replication`,
    );
    const row = result.rows[0]!;
    this.serverVersion = row.v;
    if (row.wal_level !== 'logical') {
      throw new DriverError(
        DRIVER,
        'Unsupported',
        `change data capture needs wal_level=logical, but the server runs with wal_level=${row.wal_level} ` +
          '(set it in postgresql.conf and restart the server)',
      );
    }
    // Checked before anything is created: the slot would be refused only after the publication.
    if (!row.replication) {
      throw new DriverError(
        DRIVER,
        'Permission',
        `change data capture needs the REPLICATION attribute, but role "${row.role}" lacks it ` +
          `(ALTER ROLE ${quoteIdent(row.role)} REPLICATION)`,
      );
    }
    if (row.v < 100000) {
      throw new DriverError(DRIVER, 'Unsupported', 'change data capture with pgoutput needs PostgreSQL 10 or newer');
    }
  }

  async ensureCapture(options: { slot: string; publication: string; tables: string[] }): Promise<void> {
    const slot = checkSlot(options?.slot);
    const publication = checkPublication(options.publication);
    if (!Array.isArray(options.tables) || options.tables.length === 0) {
      throw new DriverError(DRIVER, 'InvalidArgument', 'tables must be a non-empty array of table names');
    }
    const tables = options.tables.map(parseTableName);
    await this.checkServer();
    await this.ctx.ensure('cdc');
    await this.ctx.transaction('ensureCapture', async (client) => {
      // Concurrent callers for the same publication wait for each other.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`prism-patterns:cdc:${publication}`]);
      // Unqualified names resolve through search_path, as in SQL.
      const specs = tables.map((t) => (t.schema === null ? quoteIdent(t.table) : qualified(t.schema, t.table)));
      const resolved = await client.query<{
        schema: string | null;
        table: string | null;
        kind: string;
        identity: string;
      }>(
        `SELECT n.nspname AS schema, c.relname AS table, c.relkind AS kind, c.relreplident AS identity
         FROM unnest($1::text[]) WITH ORDINALITY AS wanted(spec, ord)
         LEFT JOIN pg_class c ON c.oid = to_regclass(wanted.spec)
         LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
         ORDER BY wanted.ord`,
        [specs],
      );
      const missing = tables.filter((_, i) => resolved.rows[i]?.table == null);
      if (missing.length > 0) {
        throw new DriverError(
          DRIVER,
          'NotFound',
          `table${missing.length > 1 ? 's' : ''} not found: ${missing.map((t) => t.given).join(', ')}`,
        );
      }
      const found = [
        ...new Map(
          resolved.rows.map((row) => [
            `${row.schema}.${row.table}`,
            { schema: row.schema!, table: row.table!, kind: row.kind, identity: row.identity },
          ]),
        ).values(),
      ];
      for (const row of found) {
        if (row.kind !== 'r' && row.kind !== 'p') {
          throw new DriverError(DRIVER, 'InvalidArgument', `${row.schema}.${row.table} is not a table`);
        }
      }
      for (const row of found) {
        if (row.identity !== 'f') {
          await client.query(`ALTER TABLE ${qualified(row.schema, row.table)} REPLICA IDENTITY FULL`);
        }
      }
      const existing = await client.query<{ all: boolean; truncate: boolean }>(
        'SELECT puballtables AS all, pubtruncate AS truncate FROM pg_publication WHERE pubname = $1',
        [publication],
      );
      // A publication made elsewhere without truncates would drop them silently: refuse it.
      if (existing.rowCount !== 0 && !existing.rows[0]!.truncate) {
        throw new DriverError(
          DRIVER,
          'Conflict',
          `publication "${publication}" does not publish TRUNCATE, so truncates would be lost ` +
            `(ALTER PUBLICATION ${quoteIdent(publication)} SET (publish = 'insert, update, delete, truncate'))`,
        );
      }
      const list = (refs: TableRef[]): string => refs.map((t) => qualified(t.schema, t.table)).join(', ');
      const unique: TableRef[] = found;
      if (existing.rowCount === 0) {
        await client.query(`CREATE PUBLICATION ${quoteIdent(publication)} FOR TABLE ${list(unique)}`);
      } else if (!existing.rows[0]!.all) {
        const published = await client.query<{ schema: string; table: string }>(
          'SELECT schemaname AS schema, tablename AS table FROM pg_publication_tables WHERE pubname = $1',
          [publication],
        );
        const have = new Set(published.rows.map((row) => `${row.schema}.${row.table}`));
        const add = unique.filter((t) => !have.has(`${t.schema}.${t.table}`));
        if (add.length > 0) await client.query(`ALTER PUBLICATION ${quoteIdent(publication)} ADD TABLE ${list(add)}`);
      }
    });
    // After the publication commits: decoding looks it up as of each change's time.
    await this.withSlot(slot, () => this.ensureSlot(slot));
  }

  private async ensureSlot(slot: string): Promise<void> {
    const describe = () =>
      this.ctx.query<{ plugin: string | null; type: string; same_db: boolean }>(
        'ensureCapture',
        `SELECT plugin, slot_type AS type, database = current_database() AS same_db
         FROM pg_replication_slots WHERE slot_name = $1`,
        [slot],
      );
    let row = (await describe()).rows[0];
    if (!row) {
      try {
        await this.ctx.query('ensureCapture', `SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
        return;
      } catch (err) {
        // 42710 duplicate_object: someone created it meanwhile; check that it fits.
        if (sqlStateOf(err) !== '42710') throw err;
        row = (await describe()).rows[0];
        if (!row) throw err;
      }
    }
    if (row.type !== 'logical' || row.plugin !== 'pgoutput' || !row.same_db) {
      throw new DriverError(
        DRIVER,
        'Conflict',
        `replication slot "${slot}" exists but is not a pgoutput logical slot of this database`,
      );
    }
  }

  async readChanges(options: { slot: string; publication: string; limit?: number; waitMs?: number }): Promise<{
    changes: RowChange[];
    lastLsn: string | null;
  }> {
    const slot = checkSlot(options?.slot);
    const publication = checkPublication(options.publication);
    const limit = checkLimit(DRIVER, options.limit, 100);
    const waitMs = checkMs('waitMs', options.waitMs, { fallback: 0 });
    await this.ctx.ensure('cdc');
    const deadline = Date.now() + waitMs;
    let pause = POLL_MIN_MS;
    for (;;) {
      const result = await this.withSlot(slot, () => this.readOnce(slot, publication, limit));
      const left = deadline - Date.now();
      if (result.changes.length > 0 || left <= 0) return result;
      await sleep(Math.min(pause, left));
      pause = Math.min(pause * 2, POLL_MAX_MS);
    }
  }

  /**
   * Streams the slot from its confirmed position (see cdc-stream.ts). Runs beside readChanges and
   * confirm, not through the slot's queue: the server refuses a second session on an active slot.
   */
  async streamChanges(options: { slot: string; publication: string }): Promise<CdcChangeStream> {
    const slot = checkSlot(options?.slot);
    const publication = checkPublication(options.publication);
    await this.ctx.ensure('cdc');
    const state = await this.slotState(slot, 'streamChanges');
    return PgChangeStream.open(this.ctx, this.ctx.connection, {
      slot,
      publication,
      confirmed: state.confirmed,
      partial: state.partial,
      serverVersion: await this.version(),
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      onIdle: async () => {
        const lagging = await this.ctx.query<{ lagging: boolean }>(
          'heartbeat',
          `SELECT coalesce(pg_current_wal_lsn() > confirmed_flush_lsn, false) AS lagging
           FROM pg_replication_slots WHERE slot_name = $1`,
          [slot],
        );
        if (lagging.rows[0]?.lagging) await this.heartbeat(slot);
      },
    });
  }

  /** The slot's confirmed position and a partial position inside the next transaction, if any. */
  private async slotState(
    slot: string,
    action: string,
  ): Promise<{ confirmed: bigint; lagging: boolean; partial: { lsn: bigint; sequence: number } | null }> {
    const state = await this.ctx.query<{
      confirmed: string | null;
      lagging: boolean;
      partial_lsn: string | null;
      partial_seq: number | null;
    }>(
      action,
      `SELECT s.confirmed_flush_lsn::text AS confirmed,
              coalesce(pg_current_wal_lsn() > s.confirmed_flush_lsn, false) AS lagging,
              p.commit_lsn::text AS partial_lsn, p.sequence AS partial_seq
       FROM pg_replication_slots s
       LEFT JOIN ${this.ctx.tables.cdcPositions} p ON p.slot = s.slot_name AND p.commit_lsn >= s.confirmed_flush_lsn
       WHERE s.slot_name = $1 AND s.slot_type = 'logical'`,
      [slot],
    );
    const row = state.rows[0];
    if (!row) {
      throw new DriverError(DRIVER, 'NotFound', `replication slot "${slot}" does not exist (call ensureCapture first)`);
    }
    return {
      confirmed: (row.confirmed === null ? null : parseLsn(row.confirmed)) ?? 0n,
      lagging: row.lagging,
      partial:
        row.partial_lsn !== null && row.partial_seq !== null
          ? { lsn: parseLsn(row.partial_lsn)!, sequence: row.partial_seq }
          : null,
    };
  }

  private async readOnce(
    slot: string,
    publication: string,
    limit: number,
  ): Promise<{ changes: RowChange[]; lastLsn: string | null }> {
    const row = await this.slotState(slot, 'readChanges');
    const partial = row.partial;
    const version = await this.version();
    const pluginOptions = ['proto_version', '1', 'publication_names', quoteIdent(publication)];
    if (version >= 140000) pluginOptions.push('messages', 'true');
    // Decoding stops at the first transaction boundary after this many rows (each change costs a
    // row, plus begin/relation/commit rows): enough for `limit` changes without decoding it all.
    const uptoRows = Math.min(limit * 4 + (partial?.sequence ?? 0) + 16, 2 ** 31 - 1);
    const assembler = new Assembler(limit, partial, this.relations);
    let rowsSeen = 0;
    await this.ctx.transaction('readChanges', async (client) => {
      for (const statement of SESSION_SETTINGS) await client.query(statement);
      await client.query(
        `DECLARE prism_cdc NO SCROLL CURSOR FOR
         SELECT data FROM pg_logical_slot_peek_binary_changes($1, NULL, $2, VARIADIC $3::text[])`,
        [slot, uptoRows, pluginOptions],
      );
      for (;;) {
        const batch = await client.query<{ data: Buffer }>(`FETCH ${FETCH_ROWS} FROM prism_cdc`);
        rowsSeen += batch.rows.length;
        let more = batch.rows.length === FETCH_ROWS;
        for (const { data } of batch.rows) {
          if (!assembler.push(decode(data))) {
            more = false;
            break;
          }
        }
        if (!more) break;
      }
      await client.query('CLOSE prism_cdc');
    });
    assembler.finish();
    await this.keys.fill(assembler.changes);
    if (rowsSeen === 0 && row.lagging) await this.heartbeat(slot);
    return { changes: assembler.changes.map((p) => p.change), lastLsn: assembler.position };
  }

  /**
   * Writes a logical message so an idle slot gets a position past WAL it does not care about. A
   * failure (e.g. EXECUTE revoked) never fails the read: it is reported, and tried again later with
   * a backoff that doubles per failure; meanwhile positions advance with changes only.
   */
  private async heartbeat(slot: string): Promise<void> {
    const interval = this.options.heartbeatIntervalMs;
    if (interval === 0 || (await this.version()) < 140000) return;
    const now = Date.now();
    if (now < this.heartbeatNotBefore || now - (this.heartbeats.get(slot) ?? 0) < interval) return;
    this.heartbeats.set(slot, now);
    try {
      await this.ctx.query('heartbeat', `SELECT pg_logical_emit_message(false, $1, '')`, [HEARTBEAT_PREFIX]);
    } catch (err) {
      const failures = ++this.heartbeatFailures;
      const retryInMs = Math.min(interval * 2 ** Math.min(failures, 20), Math.max(interval, HEARTBEAT_MAX_BACKOFF_MS));
      this.heartbeatNotBefore = Date.now() + retryInMs;
      this.options.report?.({
        type: 'cdc_heartbeat_failed',
        slot,
        reason: (err as Error).message,
        failures,
        retryInMs,
      });
      return;
    }
    if (this.heartbeatFailures > 0) {
      this.options.report?.({ type: 'cdc_heartbeat_resumed', slot, afterFailures: this.heartbeatFailures });
      this.heartbeatFailures = 0;
      this.heartbeatNotBefore = 0;
    }
  }

  async confirm(options: { slot: string; lsn: string }): Promise<void> {
    const slot = checkSlot(options?.slot);
    const position = parsePosition(options.lsn);
    await this.ctx.ensure('cdc');
    await this.withSlot(slot, () =>
      this.ctx.withClient('confirm', async (client) => {
        const state = await client.query<{ confirmed: string }>(
          `SELECT confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots
           WHERE slot_name = $1 AND slot_type = 'logical'`,
          [slot],
        );
        const confirmedText = state.rows[0]?.confirmed;
        if (confirmedText === undefined) {
          throw new DriverError(DRIVER, 'NotFound', `replication slot "${slot}" does not exist`);
        }
        const confirmed = parseLsn(confirmedText) ?? 0n;
        const target = formatLsn(position.lsn);
        if (position.sequence !== null && position.lsn >= confirmed) {
          // Written before the slot moves: a crash in between only repeats changes.
          await client.query(
            `INSERT INTO ${this.ctx.tables.cdcPositions} AS p (slot, commit_lsn, sequence)
             VALUES ($1, $2::pg_lsn, $3)
             ON CONFLICT (slot) DO UPDATE SET
               sequence = CASE WHEN p.commit_lsn = EXCLUDED.commit_lsn
                               THEN greatest(p.sequence, EXCLUDED.sequence) ELSE EXCLUDED.sequence END,
               commit_lsn = EXCLUDED.commit_lsn,
               updated_at = now()
             WHERE p.commit_lsn <= EXCLUDED.commit_lsn`,
            [slot, target, position.sequence],
          );
        }
        if (position.lsn > confirmed) await advance(client, slot, target);
        if (position.sequence === null) {
          await client.query(
            `DELETE FROM ${this.ctx.tables.cdcPositions} WHERE slot = $1 AND commit_lsn < $2::pg_lsn`,
            [slot, target],
          );
        }
      }),
    );
  }

  async dropCapture(options: { slot: string; publication: string }): Promise<void> {
    const slot = checkSlot(options?.slot);
    const publication = checkPublication(options.publication);
    await this.ctx.ensure('cdc');
    await this.withSlot(slot, async () => {
      await this.ctx.query(
        'dropCapture',
        'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1',
        [slot],
      );
      await this.ctx.query('dropCapture', `DROP PUBLICATION IF EXISTS ${quoteIdent(publication)}`);
      await this.ctx.query('dropCapture', `DELETE FROM ${this.ctx.tables.cdcPositions} WHERE slot = $1`, [slot]);
      this.heartbeats.delete(slot);
    });
  }
}

function decode(data: Buffer): PgOutputMessage {
  try {
    return decodePgOutput(data);
  } catch (err) {
    throw new DriverError(DRIVER, 'Unsupported', `cannot decode a pgoutput message: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

async function advance(client: PoolClient, slot: string, target: string): Promise<void> {
  try {
    await client.query('SELECT pg_replication_slot_advance($1, $2::pg_lsn)', [slot, target]);
  } catch (err) {
    // Someone else moved the slot past target meanwhile: nothing left to do.
    if ((err as { code?: unknown }).code === '55000' && /cannot advance/i.test(String((err as Error).message))) return;
    throw err;
  }
}
