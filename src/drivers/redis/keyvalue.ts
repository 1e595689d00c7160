// keyvalue_basic, keyvalue_ttl, keyvalue_batch and keyvalue_cas on Redis: a value is a plain
// string at its key; writes go through the Lua scripts of lua.ts, which keep the value's CAS
// version (a companion key in the reserved namespace) in step with it. Scans are in scan.ts.
import type {
  Bytes,
  CasResult,
  KeyValueBasic,
  KeyValueBatch,
  KeyValueCas,
  KeyValueTtl,
  Versioned,
} from '../capabilities';
import { DriverError } from '../errors';
import { checkBatch, checkKey, checkTtl, checkValue, type Limits } from '../limits';
import { checkKeyList, ttlMs } from './checks';
import type { RedisContext } from './context';
import { DRIVER, invalid } from './errors';
import * as lua from './lua';
import { asBuffer, toBuffer } from './replies';

export class RedisKeyValue implements KeyValueBasic, KeyValueTtl, KeyValueBatch, KeyValueCas {
  private readonly limits: Limits;

  constructor(private readonly ctx: RedisContext) {
    this.limits = ctx.limits;
  }

  // --- keyvalue_basic ---------------------------------------------------------------------------

  get(key: string): Promise<Bytes | null> {
    return this.ctx.run(() => {
      checkKey(DRIVER, key, this.limits);
      // The key as a string (the same bytes as valueKey): ioredis writes an all-string command
      // without assembling a buffer.
      return this.ctx.client.getBuffer(this.ctx.keyPrefix + key);
    });
  }

  async set(key: string, value: Bytes): Promise<void> {
    await this.ctx.run(() => {
      checkKey(DRIVER, key, this.limits);
      checkValue(DRIVER, value, this.limits);
      return this.ctx.eval(lua.SET, this.pairKeys(key), [toBuffer(value), '']);
    });
  }

  async delete(key: string): Promise<boolean> {
    return this.ctx.run(async () => {
      checkKey(DRIVER, key, this.limits);
      return Number(await this.ctx.eval(lua.DELETE_MANY, this.pairKeys(key), [])) > 0;
    });
  }

  async exists(key: string): Promise<boolean> {
    return this.ctx.run(async () => {
      checkKey(DRIVER, key, this.limits);
      return (await this.ctx.client.exists(this.ctx.valueKey(key))) > 0;
    });
  }

  // --- keyvalue_ttl -----------------------------------------------------------------------------

  async setWithTtl(key: string, value: Bytes, ttlSeconds: number): Promise<void> {
    await this.ctx.run(() => {
      checkKey(DRIVER, key, this.limits);
      checkValue(DRIVER, value, this.limits);
      const ms = ttlMs(checkTtl(DRIVER, ttlSeconds));
      return this.ctx.eval(lua.SET, this.pairKeys(key), [toBuffer(value), ms]);
    });
  }

  expire(key: string, ttlSeconds: number): Promise<boolean> {
    return this.ctx.run(async () => {
      checkKey(DRIVER, key, this.limits);
      const ms = ttlMs(checkTtl(DRIVER, ttlSeconds));
      return Number(await this.ctx.eval(lua.EXPIRE, this.pairKeys(key), [ms])) === 1;
    });
  }

  async ttl(key: string): Promise<number | null> {
    return this.ctx.run(async () => {
      checkKey(DRIVER, key, this.limits);
      const ms = await this.ctx.client.pttl(this.ctx.valueKey(key));
      if (ms === -2) return null;
      if (ms === -1) return -1;
      return Math.max(0, ms) / 1000;
    });
  }

  async persist(key: string): Promise<boolean> {
    return this.ctx.run(async () => {
      checkKey(DRIVER, key, this.limits);
      return Number(await this.ctx.eval(lua.PERSIST, this.pairKeys(key), [])) === 1;
    });
  }

  // --- keyvalue_batch ---------------------------------------------------------------------------

  async getMany(keys: string[]): Promise<(Bytes | null)[]> {
    return this.ctx.run(async () => {
      const checked = checkKeyList(keys, this.limits);
      if (checked.length === 0) return [];
      const values = new Array<Bytes | null>(checked.length).fill(null);
      const redisKeys = checked.map((k) => this.ctx.valueKey(k));
      await Promise.all(
        this.ctx
          .bySlot(redisKeys, (k) => k)
          .map(async (group) => {
            const got = await this.ctx.client.mgetBuffer(group.items);
            group.indexes.forEach((at, i) => (values[at] = got[i]));
          }),
      );
      return values;
    });
  }

  async setMany(entries: { key: string; value: Bytes }[], options?: { ttlSeconds?: number }): Promise<void> {
    await this.ctx.run(async () => {
      checkBatch(DRIVER, 'entries', entries);
      const ttl = options?.ttlSeconds === undefined ? '' : ttlMs(checkTtl(DRIVER, options.ttlSeconds));
      for (const entry of entries) {
        if (entry === null || typeof entry !== 'object') throw invalid('each entry must be { key, value }');
        checkKey(DRIVER, entry.key, this.limits);
        checkValue(DRIVER, entry.value, this.limits);
      }
      if (entries.length === 0) return;
      // One script per slot: atomic on a single server, per slot on a cluster.
      await Promise.all(
        this.ctx
          .bySlot(entries, ({ key }) => this.ctx.valueKey(key))
          .map((group) =>
            this.ctx.eval(
              lua.SET_MANY,
              group.items.flatMap(({ key }) => this.pairKeys(key)),
              [ttl, ...group.items.map(({ value }) => toBuffer(value))],
            ),
          ),
      );
    });
  }

  async deleteMany(keys: string[]): Promise<number> {
    return this.ctx.run(async () => {
      const checked = checkKeyList(keys, this.limits);
      if (checked.length === 0) return 0;
      const groups = this.ctx.bySlot(checked, (key) => this.ctx.valueKey(key));
      const counts = await Promise.all(
        groups.map((group) =>
          this.ctx.eval(
            lua.DELETE_MANY,
            group.items.flatMap((key) => this.pairKeys(key)),
            [],
          ),
        ),
      );
      return counts.reduce((sum: number, n) => sum + Number(n), 0);
    });
  }

  // --- keyvalue_cas -----------------------------------------------------------------------------

  getVersioned(key: string): Promise<Versioned | null> {
    return this.ctx.run(async () => {
      checkKey(DRIVER, key, this.limits);
      const reply = await this.ctx.eval(lua.GET_VERSIONED, this.casKeys(key), []);
      if (!Array.isArray(reply)) return null;
      return { value: asBuffer(reply[0]), version: asBuffer(reply[1]).toString('utf8') };
    });
  }

  async compareAndSet(
    key: string,
    value: Bytes,
    expectedVersion: string | null,
    ttlSeconds?: number,
  ): Promise<CasResult> {
    return this.ctx.run(async () => {
      checkKey(DRIVER, key, this.limits);
      checkValue(DRIVER, value, this.limits);
      if (expectedVersion !== null && typeof expectedVersion !== 'string') {
        throw invalid('expectedVersion must be a string or null');
      }
      const ms = ttlSeconds === undefined ? '' : ttlMs(checkTtl(DRIVER, ttlSeconds));
      const expected = expectedVersion === null ? '' : `=${expectedVersion}`;
      const reply = await this.ctx.eval(lua.COMPARE_AND_SET, this.casKeys(key), [toBuffer(value), expected, ms]);
      if (!Array.isArray(reply)) throw new DriverError(DRIVER, 'Unavailable', 'unexpected reply to compareAndSet');
      const version = asBuffer(reply[1]).toString('utf8');
      return { ok: Number(reply[0]) === 1, version: version === '' ? null : version };
    });
  }

  // --- keys -------------------------------------------------------------------------------------

  /** A value's key and its version's: the scripts that write a value take both (one slot). */
  private pairKeys(key: string): Buffer[] {
    const valueKey = this.ctx.valueKey(key);
    return [valueKey, this.ctx.internalKeyOn(valueKey, 'v', key)];
  }

  /** With the version counter: one per key prefix, on a cluster one per slot (so one slot). */
  private casKeys(key: string): Buffer[] {
    const [valueKey, versionKey] = this.pairKeys(key);
    return [valueKey, versionKey, this.ctx.internalKeyOn(valueKey, 'clock')];
  }
}
