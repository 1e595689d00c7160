// keyvalue_basic, _ttl, _scan, _batch, _cas and _hash in process memory: one map of entries with
// real expiry (enforced on every access; sweep() frees keys nobody reads), an ordered key index for
// cursor scans, and a version per write for compare-and-set. A map (keyvalue_hash) is an entry
// whose fields are kept beside it, so delete, exists, scan and the TTL operations treat it as any key.
import type {
  Bytes,
  CasResult,
  KeyValueBasic,
  KeyValueBatch,
  KeyValueCas,
  KeyValueHash,
  KeyValueScan,
  KeyValueTtl,
  FieldEntry,
  ScanPage,
  Versioned,
} from '../capabilities';
import {
  checkBatch,
  checkFieldEntries,
  checkFieldList,
  checkKey,
  checkKeyList,
  checkLimit,
  checkTtl,
  checkValue,
  type Limits,
} from '../limits';
import { copy, DRIVER, invalid, now, type MemoryContext } from './context';
import { SortedKeys } from './sorted-keys';

const DEFAULT_SCAN_LIMIT = 100;
const CURSOR_TAG = 'm1:';

interface Entry {
  value: Uint8Array;
  /** Monotonic ms; null: no expiry. */
  expiresAt: number | null;
  version: number;
  /** Set when the entry is a map (keyvalue_hash): its fields; `value` is then empty. */
  fields?: Map<string, Uint8Array>;
}

/** As Redis answers a read of a key holding the other kind (WRONGTYPE). */
function wrongKind(key: string, holds: 'a map' | 'a value'): Error {
  return invalid(`key ${JSON.stringify(key)} holds ${holds}`);
}

function encodeCursor(lastKey: string): string {
  return CURSOR_TAG + Buffer.from(lastKey, 'utf8').toString('base64url');
}

function decodeCursor(cursor: unknown): string | null {
  if (cursor === undefined || cursor === null) return null;
  if (typeof cursor !== 'string' || !cursor.startsWith(CURSOR_TAG)) throw invalid('malformed scan cursor');
  const encoded = cursor.slice(CURSOR_TAG.length);
  const key = Buffer.from(encoded, 'base64url').toString('utf8');
  if (key.length === 0 || encodeCursor(key) !== cursor) throw invalid('malformed scan cursor');
  return key;
}

export class MemoryKeyValue
  implements KeyValueBasic, KeyValueTtl, KeyValueScan, KeyValueBatch, KeyValueCas, KeyValueHash
{
  private readonly limits: Limits;
  private readonly entries = new Map<string, Entry>();
  private readonly order = new SortedKeys();
  /** Keys that have an expiry, so the sweeper does not walk the whole store. */
  private readonly expiring = new Set<string>();
  private clock = 0;

  constructor(private readonly ctx: MemoryContext) {
    this.limits = ctx.limits;
  }

  // --- keyvalue_basic ---------------------------------------------------------------------------

  async get(key: string): Promise<Bytes | null> {
    this.ctx.open();
    const entry = this.live(checkKey(DRIVER, key, this.limits));
    if (entry?.fields) throw wrongKind(key, 'a map');
    return entry ? copy(entry.value) : null;
  }

  async set(key: string, value: Bytes): Promise<void> {
    this.ctx.open();
    checkKey(DRIVER, key, this.limits);
    checkValue(DRIVER, value, this.limits);
    this.write(key, value, null);
  }

  async delete(key: string): Promise<boolean> {
    this.ctx.open();
    checkKey(DRIVER, key, this.limits);
    if (!this.live(key)) return false;
    this.drop(key);
    return true;
  }

  async exists(key: string): Promise<boolean> {
    this.ctx.open();
    return this.live(checkKey(DRIVER, key, this.limits)) !== undefined;
  }

  // --- keyvalue_ttl -----------------------------------------------------------------------------

  async setWithTtl(key: string, value: Bytes, ttlSeconds: number): Promise<void> {
    this.ctx.open();
    checkKey(DRIVER, key, this.limits);
    checkValue(DRIVER, value, this.limits);
    checkTtl(DRIVER, ttlSeconds);
    this.write(key, value, now() + ttlSeconds * 1000);
  }

  async expire(key: string, ttlSeconds: number): Promise<boolean> {
    this.ctx.open();
    checkKey(DRIVER, key, this.limits);
    checkTtl(DRIVER, ttlSeconds);
    const entry = this.live(key);
    if (!entry) return false;
    entry.expiresAt = now() + ttlSeconds * 1000;
    this.expiring.add(key);
    return true;
  }

  async ttl(key: string): Promise<number | null> {
    this.ctx.open();
    const entry = this.live(checkKey(DRIVER, key, this.limits));
    if (!entry) return null;
    if (entry.expiresAt === null) return -1;
    return Math.max(0, (entry.expiresAt - now()) / 1000);
  }

  async persist(key: string): Promise<boolean> {
    this.ctx.open();
    const entry = this.live(checkKey(DRIVER, key, this.limits));
    if (!entry || entry.expiresAt === null) return false;
    entry.expiresAt = null;
    this.expiring.delete(key);
    return true;
  }

  // --- keyvalue_scan ----------------------------------------------------------------------------

  /**
   * Keys in code-unit order. The cursor is the last key returned, so a scan resumes strictly after
   * it: no key is returned twice, and every key present for the whole scan is returned.
   */
  async scan(prefix: string, options?: { cursor?: string | null; limit?: number }): Promise<ScanPage> {
    this.ctx.open();
    if (typeof prefix !== 'string') throw invalid('prefix must be a string');
    const limit = checkLimit(DRIVER, options?.limit, DEFAULT_SCAN_LIMIT);
    const after = decodeCursor(options?.cursor);
    let index = after !== null && after >= prefix ? this.order.bound(after, true) : this.order.bound(prefix);
    const keys: string[] = [];
    const expired: string[] = [];
    const t = now();
    for (let key = this.order.at(index); key !== undefined && key.startsWith(prefix); key = this.order.at(++index)) {
      if (keys.length === limit) {
        for (const k of expired) this.drop(k);
        return { keys, cursor: encodeCursor(keys[keys.length - 1]) };
      }
      const entry = this.entries.get(key);
      if (entry && entry.expiresAt !== null && entry.expiresAt <= t) expired.push(key);
      else keys.push(key);
    }
    for (const k of expired) this.drop(k);
    return { keys, cursor: null };
  }

  // --- keyvalue_batch ---------------------------------------------------------------------------

  async getMany(keys: string[]): Promise<(Bytes | null)[]> {
    this.ctx.open();
    return checkKeyList(DRIVER, keys, this.limits).map((key) => {
      const entry = this.live(key);
      // As Redis's MGET: a key of another kind reads as missing.
      return entry && !entry.fields ? copy(entry.value) : null;
    });
  }

  async setMany(entries: { key: string; value: Bytes }[], options?: { ttlSeconds?: number }): Promise<void> {
    this.ctx.open();
    checkBatch(DRIVER, 'entries', entries);
    const expiresAt = options?.ttlSeconds === undefined ? null : now() + checkTtl(DRIVER, options.ttlSeconds) * 1000;
    // Validate everything before writing anything.
    for (const entry of entries) {
      if (entry === null || typeof entry !== 'object') throw invalid('each entry must be { key, value }');
      checkKey(DRIVER, entry.key, this.limits);
      checkValue(DRIVER, entry.value, this.limits);
    }
    for (const { key, value } of entries) this.write(key, value, expiresAt);
  }

  async deleteMany(keys: string[]): Promise<number> {
    this.ctx.open();
    let existed = 0;
    for (const key of checkKeyList(DRIVER, keys, this.limits)) {
      if (this.live(key)) {
        this.drop(key);
        existed += 1;
      }
    }
    return existed;
  }

  // --- keyvalue_cas -----------------------------------------------------------------------------
  // Versions come from one counter per driver instance, bumped by every write (set included), so
  // a version is never reused, even after a delete and re-create.

  async getVersioned(key: string): Promise<Versioned | null> {
    this.ctx.open();
    const entry = this.live(checkKey(DRIVER, key, this.limits));
    if (entry?.fields) throw wrongKind(key, 'a map');
    return entry ? { value: copy(entry.value), version: String(entry.version) } : null;
  }

  async compareAndSet(
    key: string,
    value: Bytes,
    expectedVersion: string | null,
    ttlSeconds?: number,
  ): Promise<CasResult> {
    this.ctx.open();
    checkKey(DRIVER, key, this.limits);
    checkValue(DRIVER, value, this.limits);
    if (expectedVersion !== null && typeof expectedVersion !== 'string') {
      throw invalid('expectedVersion must be a string or null');
    }
    if (ttlSeconds !== undefined) checkTtl(DRIVER, ttlSeconds);
    const { ok, version } = this.compareAndSetNow(key, value, expectedVersion, ttlSeconds);
    return { ok, version };
  }

  /**
   * compareAndSet on checked arguments, synchronously (so a caller can log the write in the same
   * step); a conflict also returns the stored value.
   */
  compareAndSetNow(
    key: string,
    value: Bytes,
    expectedVersion: string | null,
    ttlSeconds?: number,
  ): CasResult & { current: Bytes | null } {
    const entry = this.live(key);
    const current = entry ? String(entry.version) : null;
    if (current !== expectedVersion) return { ok: false, version: current, current: entry ? copy(entry.value) : null };
    const written = this.write(key, value, ttlSeconds === undefined ? null : now() + ttlSeconds * 1000);
    return { ok: true, version: String(written.version), current: null };
  }

  // --- keyvalue_hash ----------------------------------------------------------------------------

  async getFields(key: string, fields: string[]): Promise<(Bytes | null)[]> {
    this.ctx.open();
    checkKey(DRIVER, key, this.limits);
    const checked = checkFieldList(DRIVER, fields, this.limits);
    const entry = this.live(key);
    if (entry && !entry.fields) throw wrongKind(key, 'a value');
    return checked.map((field) => {
      const value = entry?.fields?.get(field);
      return value === undefined ? null : copy(value);
    });
  }

  async setFields(key: string, entries: FieldEntry[], options?: { ttlSeconds?: number }): Promise<void> {
    this.ctx.open();
    checkKey(DRIVER, key, this.limits);
    const byField = checkFieldEntries(DRIVER, entries, this.limits);
    const ttl = options?.ttlSeconds === undefined ? undefined : checkTtl(DRIVER, options.ttlSeconds);
    if (byField.size === 0) return;
    let entry = this.live(key);
    if (entry && !entry.fields) throw wrongKind(key, 'a value');
    // A new map has no expiry until a TTL is given; an existing one keeps its own.
    entry ??= this.write(key, new Uint8Array(0), null);
    const fields = (entry.fields ??= new Map());
    for (const [field, value] of byField) fields.set(field, copy(value));
    entry.version = ++this.clock;
    if (ttl !== undefined) {
      entry.expiresAt = now() + ttl * 1000;
      this.expiring.add(key);
    }
  }

  // --- upkeep -----------------------------------------------------------------------------------

  /** Frees expired keys nobody read (reads already ignore them). */
  sweep(): void {
    const t = now();
    for (const key of this.expiring) {
      const expiresAt = this.entries.get(key)?.expiresAt;
      if (expiresAt == null || expiresAt <= t) this.drop(key);
    }
  }

  clear(): void {
    this.entries.clear();
    this.order.clear();
    this.expiring.clear();
  }

  // --- internals --------------------------------------------------------------------------------

  /** The entry when present and not expired; an expired one is removed on the way. */
  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt !== null && entry.expiresAt <= now()) {
      this.drop(key);
      return undefined;
    }
    return entry;
  }

  private write(key: string, value: Uint8Array, expiresAt: number | null): Entry {
    if (!this.entries.has(key)) this.order.insert(key);
    const entry: Entry = { value: copy(value), expiresAt, version: ++this.clock };
    this.entries.set(key, entry);
    if (expiresAt === null) this.expiring.delete(key);
    else this.expiring.add(key);
    return entry;
  }

  private drop(key: string): void {
    if (this.entries.delete(key)) this.order.remove(key);
    this.expiring.delete(key);
  }
}
