// ledger_basic on Redis: the counter is a string key, each applied change id a key of its own with
// the retention as its expiry (PX), so a change costs O(1) whatever the key's history. One Lua
// script checks the change record, the floor and onlyAfter, writes the counter and the record:
// atomic on the server, no compare-and-set loop, so concurrent changes of one key never retry.
//   <p>\xffl\xff{K}              the counter of K
//   <p>\xffl\xff{K}\xff<change>  the record of an applied change (expires after its retention)
// The script needs both on one slot: on Redis Cluster both names start with the hash tag of K's
// slot (context.ts internalKeyOn), as {K} alone would fail for a key starting with '}'.
import type { LedgerBasic, LedgerChange, LedgerOutcome, LedgerRefusal } from '../capabilities';
import { DriverError } from '../errors';
import { checkLedgerChange } from '../ledger-checks';
import { checkKey, type Limits } from '../limits';
import { DRIVER } from './errors';
import { LuaScript } from './lua';

/**
 * KEYS: counter, change record, onlyAfter's record. ARGV: delta, initial ('' for none), floor
 * ('' for none), '1' when onlyAfter is set, retention ms. Returns {outcome, counter or ''}.
 */
export const APPLY_CHANGE = new LuaScript(`
local stored = redis.call('GET', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 1 then return {'duplicate', stored or ''} end
if ARGV[4] == '1' and redis.call('EXISTS', KEYS[3]) == 0 then return {'not_after', stored or ''} end
local before
if stored then before = tonumber(stored) elseif ARGV[2] ~= '' then before = tonumber(ARGV[2]) else
  return {'missing', ''}
end
local after = before + tonumber(ARGV[1])
if ARGV[3] ~= '' and after < tonumber(ARGV[3]) then return {'insufficient', stored or ''} end
local now = string.format('%d', after)
redis.call('SET', KEYS[1], now)
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[5])
return {'applied', now}
`);

export interface RedisLedgerAccess {
  limits: Limits;
  /** A name in the driver's reserved namespace, on the slot of anchor (see context.ts). */
  internalKeyOn(anchor: string, kind: string, ...parts: string[]): Buffer;
  eval(script: LuaScript, keys: Buffer[], args: string[]): Promise<unknown>;
  get(key: Buffer): Promise<Buffer | null>;
}

const REFUSALS: readonly string[] = ['duplicate', 'insufficient', 'missing', 'not_after'];

export class RedisLedger implements LedgerBasic {
  constructor(private readonly redis: RedisLedgerAccess) {}

  private counterKey(key: string): Buffer {
    return this.redis.internalKeyOn(key, 'l', `{${key}}`);
  }

  private changeKey(key: string, changeId: string): Buffer {
    return this.redis.internalKeyOn(key, 'l', `{${key}}`, changeId);
  }

  async applyChange(key: string, changeId: string, change: LedgerChange): Promise<LedgerOutcome> {
    const c = checkLedgerChange(DRIVER, this.redis.limits, key, changeId, change);
    const keys = [
      this.counterKey(c.key),
      this.changeKey(c.key, c.changeId),
      this.changeKey(c.key, c.onlyAfter ?? c.changeId),
    ];
    const args = [
      String(c.delta),
      c.initial === null ? '' : String(c.initial),
      c.floor === null ? '' : String(c.floor),
      c.onlyAfter === null ? '0' : '1',
      String(c.retentionMs),
    ];
    const reply = await this.redis.eval(APPLY_CHANGE, keys, args);
    if (!Array.isArray(reply) || reply.length !== 2) {
      throw new DriverError(DRIVER, 'Unavailable', 'unexpected reply to applyChange');
    }
    const outcome = String(reply[0]);
    const counter = String(reply[1]);
    const now = counter === '' ? null : Number(counter);
    if (outcome === 'applied') return { now, applied: true };
    if (!REFUSALS.includes(outcome))
      throw new DriverError(DRIVER, 'Unavailable', `unexpected applyChange outcome ${outcome}`);
    return { now, applied: false, reason: outcome as LedgerRefusal };
  }

  async balance(key: string): Promise<number | null> {
    const value = await this.redis.get(this.counterKey(checkKey(DRIVER, key, this.redis.limits)));
    return value === null ? null : Number(value.toString('utf8'));
  }
}
