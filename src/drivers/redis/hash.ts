// keyvalue_hash on Redis: a map is a Redis hash at the key's own name (`<keyPrefix>K`, like a
// value), so DEL, EXISTS, PTTL, PEXPIRE and SCAN treat it as any key. Reads are one HMGET; a write
// is one script (HSET, then PEXPIRE when a TTL is given), so the fields and the expiry land
// together. One key per call: on a cluster, one slot.
import type { Bytes, FieldEntry, KeyValueHash } from '../capabilities';
import { checkFieldEntries, checkFieldList, checkKey, checkTtl } from '../limits';
import { ttlMs } from './checks';
import type { RedisContext } from './context';
import { DRIVER } from './errors';
import { LuaScript } from './lua';
import { toBuffer } from './replies';

/** Arguments per HSET inside the script: Lua's unpack takes a few thousand at most. */
const HSET_ARGS = 1000;

/**
 * KEYS: the map. ARGV: ttl ms ('' for none), field1, value1, field2, value2, … HSET fails with
 * WRONGTYPE on a key holding a value before anything is written, so the TTL is never set then.
 */
const SET_FIELDS = new LuaScript(`
for i = 2, #ARGV, ${HSET_ARGS} do
  redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + ${HSET_ARGS - 1}, #ARGV)))
end
if ARGV[1] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1
`);

export class RedisHash implements KeyValueHash {
  constructor(private readonly ctx: RedisContext) {}

  getFields(key: string, fields: string[]): Promise<(Bytes | null)[]> {
    return this.ctx.run(async () => {
      checkKey(DRIVER, key, this.ctx.limits);
      const checked = checkFieldList(DRIVER, fields, this.ctx.limits);
      if (checked.length === 0) return [];
      return this.ctx.client.hmgetBuffer(this.ctx.valueKey(key), ...checked);
    });
  }

  async setFields(key: string, entries: FieldEntry[], options?: { ttlSeconds?: number }): Promise<void> {
    await this.ctx.run(async () => {
      checkKey(DRIVER, key, this.ctx.limits);
      const byField = checkFieldEntries(DRIVER, entries, this.ctx.limits);
      const ttl = options?.ttlSeconds === undefined ? '' : ttlMs(checkTtl(DRIVER, options.ttlSeconds));
      if (byField.size === 0) return;
      const pairs: (string | Buffer)[] = [];
      for (const [field, value] of byField) pairs.push(field, toBuffer(value));
      await this.ctx.eval(SET_FIELDS, [this.ctx.valueKey(key)], [ttl, ...pairs]);
    });
  }
}
