// Key-value capabilities over one table: key text (byte-ordered) primary key, value bytea, a
// version from a sequence (for CAS) and an optional expiry. Expired rows are invisible to every
// read; single-key reads delete them on the way and a background sweep removes the rest.
import type {
  Bytes,
  CasResult,
  KeyValueBasic,
  KeyValueBatch,
  KeyValueCas,
  KeyValueScan,
  KeyValueTtl,
  ScanPage,
  Versioned,
} from '../capabilities';
import { DriverError } from '../errors';
import { checkBatch, checkKey, checkLimit, checkTtl, checkValue } from '../limits';
import type { QueryResult, QueryResultRow } from 'pg';
import type { PgContext } from './context';
import { checkNoNul, DRIVER, fromBytea, toBuffer } from './sql';

const LIVE = '(expires_at IS NULL OR expires_at > now())';
const SWEEP_BATCH = 1000;

/** A query on the pool or on one transaction's connection. */
export type Query = <R extends QueryResultRow = QueryResultRow>(
  action: string,
  text: string,
  values?: unknown[],
) => Promise<QueryResult<R>>;

type KeyValueOps = KeyValueBasic & KeyValueTtl & KeyValueScan & KeyValueBatch & KeyValueCas;

export class PgKeyValue implements KeyValueOps {
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly ctx: PgContext) {
    ctx.onPartReady('kv', () => this.startSweeper());
  }

  private get table(): string {
    return this.ctx.tables.kv;
  }

  private get nextVersion(): string {
    return `nextval('${this.ctx.tables.kvVersionSeq.replace(/'/g, "''")}')`;
  }

  private key(key: unknown): string {
    return checkNoNul('key', checkKey(DRIVER, key, this.ctx.limits));
  }

  private value(value: unknown): Buffer {
    return toBuffer(checkValue(DRIVER, value, this.ctx.limits));
  }

  private async ready(): Promise<void> {
    await this.ctx.ensure('kv');
  }

  async get(key: string): Promise<Bytes | null> {
    const k = this.key(key);
    await this.ready();
    const result = await this.ctx.query<{ value: Buffer }>(
      'get',
      `WITH expired AS (DELETE FROM ${this.table} WHERE key = $1 AND expires_at <= now())
       SELECT value FROM ${this.table} WHERE key = $1 AND ${LIVE}`,
      [k],
    );
    const row = result.rows[0];
    return row ? fromBytea(row.value) : null;
  }

  async set(key: string, value: Bytes): Promise<void> {
    const k = this.key(key);
    const v = this.value(value);
    await this.ready();
    await this.ctx.query(
      'set',
      `INSERT INTO ${this.table} (key, value, version, expires_at) VALUES ($1, $2, ${this.nextVersion}, NULL)
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, version = EXCLUDED.version, expires_at = NULL`,
      [k, v],
    );
  }

  async delete(key: string): Promise<boolean> {
    const k = this.key(key);
    await this.ready();
    const result = await this.ctx.query<{ live: boolean }>(
      'delete',
      `DELETE FROM ${this.table} WHERE key = $1 RETURNING ${LIVE} AS live`,
      [k],
    );
    return result.rows[0]?.live === true;
  }

  async exists(key: string): Promise<boolean> {
    const k = this.key(key);
    await this.ready();
    const result = await this.ctx.query(
      'exists',
      `WITH expired AS (DELETE FROM ${this.table} WHERE key = $1 AND expires_at <= now())
       SELECT 1 FROM ${this.table} WHERE key = $1 AND ${LIVE}`,
      [k],
    );
    return result.rowCount === 1;
  }

  async setWithTtl(key: string, value: Bytes, ttlSeconds: number): Promise<void> {
    const k = this.key(key);
    const v = this.value(value);
    const ttl = checkTtl(DRIVER, ttlSeconds);
    await this.ready();
    await this.ctx.query(
      'setWithTtl',
      `INSERT INTO ${this.table} (key, value, version, expires_at)
       VALUES ($1, $2, ${this.nextVersion}, now() + $3::float8 * interval '1 second')
       ON CONFLICT (key) DO UPDATE
         SET value = EXCLUDED.value, version = EXCLUDED.version, expires_at = EXCLUDED.expires_at`,
      [k, v, ttl],
    );
  }

  async expire(key: string, ttlSeconds: number): Promise<boolean> {
    const k = this.key(key);
    const ttl = checkTtl(DRIVER, ttlSeconds);
    await this.ready();
    const result = await this.ctx.query(
      'expire',
      `UPDATE ${this.table} SET expires_at = now() + $2::float8 * interval '1 second'
       WHERE key = $1 AND ${LIVE}`,
      [k, ttl],
    );
    return result.rowCount === 1;
  }

  async ttl(key: string): Promise<number | null> {
    const k = this.key(key);
    await this.ready();
    const result = await this.ctx.query<{ ttl: number }>(
      'ttl',
      `SELECT CASE WHEN expires_at IS NULL THEN -1
                   ELSE extract(epoch FROM expires_at - now())::float8 END AS ttl
       FROM ${this.table} WHERE key = $1 AND ${LIVE}`,
      [k],
    );
    const row = result.rows[0];
    return row ? row.ttl : null;
  }

  async persist(key: string): Promise<boolean> {
    const k = this.key(key);
    await this.ready();
    const result = await this.ctx.query(
      'persist',
      `UPDATE ${this.table} SET expires_at = NULL WHERE key = $1 AND expires_at > now()`,
      [k],
    );
    return result.rowCount === 1;
  }

  async scan(prefix: string, options: { cursor?: string | null; limit?: number } = {}): Promise<ScanPage> {
    if (typeof prefix !== 'string') throw new DriverError(DRIVER, 'InvalidArgument', 'prefix must be a string');
    checkNoNul('prefix', prefix);
    if (Buffer.byteLength(prefix, 'utf8') > this.ctx.limits.maxKeyBytes) {
      throw new DriverError(DRIVER, 'KeyTooLong', `prefix is longer than ${this.ctx.limits.maxKeyBytes} bytes`);
    }
    const limit = checkLimit(DRIVER, options.limit, 100);
    const cursor = options.cursor ?? '';
    if (typeof cursor !== 'string') throw new DriverError(DRIVER, 'InvalidArgument', 'cursor must be a string');
    checkNoNul('cursor', cursor);
    await this.ready();
    // Keyset pagination: the cursor is the last key returned; the table is byte-ordered (COLLATE "C").
    const pattern = `${prefix.replace(/[\\%_]/g, '\\$&')}%`;
    const result = await this.ctx.query<{ key: string }>(
      'scan',
      `SELECT key FROM ${this.table}
       WHERE key LIKE $1 ESCAPE '\\' AND key > $2 AND ${LIVE}
       ORDER BY key LIMIT $3`,
      [pattern, cursor, limit + 1],
    );
    const keys = result.rows.slice(0, limit).map((row) => row.key);
    const more = result.rows.length > limit;
    return { keys, cursor: more ? keys[keys.length - 1]! : null };
  }

  async getMany(keys: string[]): Promise<(Bytes | null)[]> {
    const checked = checkBatch(DRIVER, 'keys', keys).map((key) => this.key(key));
    if (checked.length === 0) return [];
    await this.ready();
    const result = await this.ctx.query<{ key: string; value: Buffer }>(
      'getMany',
      `SELECT key, value FROM ${this.table} WHERE key = ANY($1::text[]) AND ${LIVE}`,
      [[...new Set(checked)]],
    );
    const found = new Map(result.rows.map((row) => [row.key, row.value]));
    return checked.map((key) => {
      const value = found.get(key);
      return value ? fromBytea(value) : null;
    });
  }

  async setMany(entries: { key: string; value: Bytes }[], options?: { ttlSeconds?: number }): Promise<void> {
    checkBatch(DRIVER, 'entries', entries);
    const ttl = options?.ttlSeconds === undefined ? null : checkTtl(DRIVER, options.ttlSeconds);
    // Last write wins for a repeated key (one INSERT cannot update a row twice).
    const byKey = new Map<string, Buffer>();
    for (const entry of entries) {
      if (typeof entry !== 'object' || entry === null) {
        throw new DriverError(DRIVER, 'InvalidArgument', 'each entry must be { key, value }');
      }
      byKey.set(this.key(entry.key), this.value(entry.value));
    }
    if (byKey.size === 0) return;
    // Byte order, as in the index: concurrent batches lock rows in the same order (no deadlock).
    const sorted = [...byKey.entries()].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    await this.ready();
    await this.ctx.query(
      'setMany',
      `INSERT INTO ${this.table} (key, value, version, expires_at)
       SELECT k, v, ${this.nextVersion}, now() + $3::float8 * interval '1 second'
       FROM unnest($1::text[], $2::bytea[]) AS t(k, v)
       ON CONFLICT (key) DO UPDATE
         SET value = EXCLUDED.value, version = EXCLUDED.version, expires_at = EXCLUDED.expires_at`,
      [sorted.map(([key]) => key), sorted.map(([, value]) => value), ttl],
    );
  }

  async deleteMany(keys: string[]): Promise<number> {
    const unique = [...new Set(checkBatch(DRIVER, 'keys', keys).map((key) => this.key(key)))];
    if (unique.length === 0) return 0;
    await this.ready();
    const result = await this.ctx.query<{ live: boolean }>(
      'deleteMany',
      `DELETE FROM ${this.table} WHERE key = ANY($1::text[]) RETURNING ${LIVE} AS live`,
      [unique],
    );
    return result.rows.filter((row) => row.live).length;
  }

  async getVersioned(key: string): Promise<Versioned | null> {
    const k = this.key(key);
    await this.ready();
    const result = await this.ctx.query<{ value: Buffer; version: string }>(
      'getVersioned',
      `WITH expired AS (DELETE FROM ${this.table} WHERE key = $1 AND expires_at <= now())
       SELECT value, version::text AS version FROM ${this.table} WHERE key = $1 AND ${LIVE}`,
      [k],
    );
    const row = result.rows[0];
    return row ? { value: fromBytea(row.value), version: row.version } : null;
  }

  async compareAndSet(
    key: string,
    value: Bytes,
    expectedVersion: string | null,
    ttlSeconds?: number,
  ): Promise<CasResult> {
    await this.ready();
    const { ok, version } = await this.compareAndSetWith(
      <R extends QueryResultRow>(action: string, text: string, values?: unknown[]) =>
        this.ctx.query<R>(action, text, values),
      key,
      value,
      expectedVersion,
      ttlSeconds,
    );
    return { ok, version };
  }

  /**
   * compareAndSet through `query` (a transaction's connection, for a write logged with it); a
   * conflict also returns the stored value. The caller has made sure the tables exist.
   */
  async compareAndSetWith(
    query: Query,
    key: string,
    value: Bytes,
    expectedVersion: string | null,
    ttlSeconds?: number,
  ): Promise<CasResult & { current: Bytes | null }> {
    const k = this.key(key);
    const v = this.value(value);
    const ttl = ttlSeconds === undefined ? null : checkTtl(DRIVER, ttlSeconds);
    if (expectedVersion !== null && typeof expectedVersion !== 'string') {
      throw new DriverError(DRIVER, 'InvalidArgument', 'expectedVersion must be a string or null');
    }
    const expiry = `CASE WHEN $3::float8 IS NULL THEN NULL ELSE now() + $3::float8 * interval '1 second' END`;
    let written: { version: string } | undefined;
    if (expectedVersion === null) {
      // Only when absent: a conflicting row may be replaced only if it has expired.
      const result = await query<{ version: string }>(
        'compareAndSet',
        `INSERT INTO ${this.table} AS t (key, value, version, expires_at)
         VALUES ($1, $2, ${this.nextVersion}, ${expiry})
         ON CONFLICT (key) DO UPDATE
           SET value = EXCLUDED.value, version = EXCLUDED.version, expires_at = EXCLUDED.expires_at
           WHERE t.expires_at IS NOT NULL AND t.expires_at <= now()
         RETURNING version::text AS version`,
        [k, v, ttl],
      );
      written = result.rows[0];
    } else if (/^\d{1,18}$/.test(expectedVersion)) {
      const result = await query<{ version: string }>(
        'compareAndSet',
        `UPDATE ${this.table} SET value = $2, version = ${this.nextVersion}, expires_at = ${expiry}
         WHERE key = $1 AND version = $4::bigint AND ${LIVE}
         RETURNING version::text AS version`,
        [k, v, ttl, expectedVersion],
      );
      written = result.rows[0];
    }
    if (written) return { ok: true, version: written.version, current: null };
    const current = await query<{ version: string; value: Buffer }>(
      'compareAndSet',
      `SELECT version::text AS version, value FROM ${this.table} WHERE key = $1 AND ${LIVE}`,
      [k],
    );
    const row = current.rows[0];
    return { ok: false, version: row?.version ?? null, current: row ? fromBytea(row.value) : null };
  }

  private startSweeper(): void {
    this.sweeper ??= this.ctx.sweepEvery(
      'sweeping expired keys',
      `DELETE FROM ${this.table} WHERE key IN (
         SELECT key FROM ${this.table} WHERE expires_at <= now() LIMIT ${SWEEP_BATCH} FOR UPDATE SKIP LOCKED)`,
    );
  }

  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}
