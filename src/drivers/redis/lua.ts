// Lua scripts of the Redis driver. Each runs atomically on the server; the driver calls them by
// SHA1 (EVALSHA) and falls back to EVAL when the server's script cache was flushed.
import { createHash } from 'node:crypto';

export class LuaScript {
  readonly sha: string;
  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }
}

// --- key-value ----------------------------------------------------------------------------------
// A value is a plain Redis string at its key, so GET/MGET/EXISTS/PTTL/SCAN work natively. Its CAS
// version lives in a companion key (KEYS[2]: the value key's name in the driver's reserved
// namespace) and comes from one counter per key prefix (KEYS[3]), so a version is never reused,
// even after a delete and re-create. Plain writes drop the companion; the next versioned read
// mints a fresh version, which invalidates every version handed out before the write. The
// companion always carries the value's expiry.

/** KEYS: value, version. ARGV: value, ttl ms ('' for none). */
export const SET = new LuaScript(`
if ARGV[2] == '' then
  redis.call('SET', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
redis.call('DEL', KEYS[2])
return 1
`);

/** KEYS: value1, version1, value2, version2, … ARGV: ttl ms ('' for none), value1, value2, … */
export const SET_MANY = new LuaScript(`
for i = 2, #ARGV do
  if ARGV[1] == '' then
    redis.call('SET', KEYS[2 * i - 3], ARGV[i])
  else
    redis.call('SET', KEYS[2 * i - 3], ARGV[i], 'PX', ARGV[1])
  end
  redis.call('DEL', KEYS[2 * i - 2])
end
return #ARGV - 1
`);

/** KEYS: value1, version1, value2, version2, … Returns how many values existed. */
export const DELETE_MANY = new LuaScript(`
local n = 0
for i = 1, #KEYS, 2 do
  n = n + redis.call('DEL', KEYS[i])
  redis.call('DEL', KEYS[i + 1])
end
return n
`);

/** KEYS: value, version. ARGV: ttl ms. */
export const EXPIRE = new LuaScript(`
local r = redis.call('PEXPIRE', KEYS[1], ARGV[1])
if r == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[1]) end
return r
`);

/** KEYS: value, version. */
export const PERSIST = new LuaScript(`
local r = redis.call('PERSIST', KEYS[1])
redis.call('PERSIST', KEYS[2])
return r
`);

const CURRENT_VERSION = `
local function current_version()
  if redis.call('EXISTS', KEYS[1]) == 0 then return false end
  local v = redis.call('GET', KEYS[2])
  if v then return v end
  v = string.format('%d', redis.call('INCR', KEYS[3]))
  local pttl = redis.call('PTTL', KEYS[1])
  if pttl > 0 then redis.call('SET', KEYS[2], v, 'PX', pttl) else redis.call('SET', KEYS[2], v) end
  return v
end
`;

/** KEYS: value, version, clock. Returns nil or {value, version}. */
export const GET_VERSIONED = new LuaScript(`${CURRENT_VERSION}
local value = redis.call('GET', KEYS[1])
if not value then return false end
return {value, current_version()}
`);

/**
 * KEYS: value, version, clock. ARGV: value, expected ('' for "absent", else '=' .. version),
 * ttl ms ('' for none). Returns {1, newVersion} or {0, currentVersion or ''}.
 */
export const COMPARE_AND_SET = new LuaScript(`${CURRENT_VERSION}
local v = current_version()
if ARGV[2] == '' then
  if v then return {0, v} end
elseif v ~= string.sub(ARGV[2], 2) then
  return {0, v or ''}
end
local nv = string.format('%d', redis.call('INCR', KEYS[3]))
if ARGV[3] == '' then
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('SET', KEYS[2], nv)
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
  redis.call('SET', KEYS[2], nv, 'PX', ARGV[3])
end
return {1, nv}
`);

// --- queues -------------------------------------------------------------------------------------
// KEYS (every queue script): 1 ready (list of ids, FIFO), 2 invisible (zset id -> visible-at ms,
// leased or nacked with a delay), 3 payload (hash), 4 headers (hash, JSON), 5 delivery count
// (hash), 6 max deliveries of the last lease (hash), 7 lease (hash id -> delivery number a receipt
// must name), 8 dead letters (list of ids, oldest first). Time is the server's (TIME), so workers
// with skewed clocks agree on deadlines.

const QUEUE_PRELUDE = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function requeue_due(now)
  local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1000)
  local back = {}
  for _, id in ipairs(due) do
    redis.call('ZREM', KEYS[2], id)
    redis.call('HDEL', KEYS[7], id)
    if redis.call('HEXISTS', KEYS[3], id) == 1 then
      local count = tonumber(redis.call('HGET', KEYS[5], id) or '0')
      local maxd = tonumber(redis.call('HGET', KEYS[6], id) or '0')
      if maxd > 0 and count >= maxd then
        redis.call('RPUSH', KEYS[8], id)
      else
        back[#back + 1] = id
      end
    end
  end
  for i = #back, 1, -1 do redis.call('LPUSH', KEYS[1], back[i]) end
end
`;

/** ARGV: id, payload, headers JSON. */
export const ENQUEUE = new LuaScript(`
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[5], ARGV[1], 0)
redis.call('RPUSH', KEYS[1], ARGV[1])
return 1
`);

/** ARGV: max, visibility ms, max deliveries. Returns {id, payload, headers, deliveryCount, …}. */
export const RECEIVE = new LuaScript(`${QUEUE_PRELUDE}
local now = now_ms()
requeue_due(now)
local max = tonumber(ARGV[1])
local visibility = tonumber(ARGV[2])
local maxd = tonumber(ARGV[3])
local out = {}
local n = 0
while n < max do
  local id = redis.call('LPOP', KEYS[1])
  if not id then break end
  local payload = redis.call('HGET', KEYS[3], id)
  if payload then
    local count = tonumber(redis.call('HGET', KEYS[5], id) or '0')
    if count >= maxd then
      redis.call('RPUSH', KEYS[8], id)
    else
      count = count + 1
      redis.call('HSET', KEYS[5], id, count)
      redis.call('HSET', KEYS[6], id, maxd)
      redis.call('HSET', KEYS[7], id, count)
      redis.call('ZADD', KEYS[2], now + visibility, id)
      out[#out + 1] = id
      out[#out + 1] = payload
      out[#out + 1] = redis.call('HGET', KEYS[4], id) or '{}'
      out[#out + 1] = count
      n = n + 1
    end
  end
end
return out
`);

/** ARGV: id, token (a delivery number, or 'dlq' to drop a dead letter). Returns 1 when removed. */
export const ACK = new LuaScript(`
if ARGV[2] == 'dlq' then
  if redis.call('LREM', KEYS[8], 1, ARGV[1]) == 0 then return 0 end
else
  if redis.call('HGET', KEYS[7], ARGV[1]) ~= ARGV[2] then return 0 end
  redis.call('ZREM', KEYS[2], ARGV[1])
end
for i = 3, 7 do redis.call('HDEL', KEYS[i], ARGV[1]) end
return 1
`);

/** ARGV: id, token, delay ms. Returns 1 when released. */
export const NACK = new LuaScript(`${QUEUE_PRELUDE}
if redis.call('HGET', KEYS[7], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[7], ARGV[1])
local delay = tonumber(ARGV[3])
if delay > 0 then
  redis.call('ZADD', KEYS[2], now_ms() + delay, ARGV[1])
  return 1
end
redis.call('ZREM', KEYS[2], ARGV[1])
local count = tonumber(redis.call('HGET', KEYS[5], ARGV[1]) or '0')
local maxd = tonumber(redis.call('HGET', KEYS[6], ARGV[1]) or '0')
if maxd > 0 and count >= maxd then
  redis.call('RPUSH', KEYS[8], ARGV[1])
else
  redis.call('LPUSH', KEYS[1], ARGV[1])
end
return 1
`);

/** ARGV: max. Returns {id, payload, headers, deliveryCount, …}, oldest first. */
export const DEAD_LETTERS = new LuaScript(`${QUEUE_PRELUDE}
requeue_due(now_ms())
local ids = redis.call('LRANGE', KEYS[8], 0, tonumber(ARGV[1]) - 1)
local out = {}
for _, id in ipairs(ids) do
  local payload = redis.call('HGET', KEYS[3], id)
  if payload then
    out[#out + 1] = id
    out[#out + 1] = payload
    out[#out + 1] = redis.call('HGET', KEYS[4], id) or '{}'
    out[#out + 1] = tonumber(redis.call('HGET', KEYS[5], id) or '0')
  end
end
return out
`);

// --- change feed --------------------------------------------------------------------------------
// A feed is a Redis stream (fields k: key, v: value) and a meta hash beside it: `r:<reader>` →
// the reader's committed offset, `trimmed` → the largest offset ever trimmed away (how a reader
// learns it missed entries). Both keys carry the feed's name as a hash tag ({feed}), so on a
// cluster they share a slot.

const FEED_IDS = `
local function id_parts(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function id_less(a, b)
  local am, as = id_parts(a)
  local bm, bs = id_parts(b)
  if am ~= bm then return am < bm end
  return as < bs
end
local function id_next(id)
  local ms, seq = id_parts(id)
  return string.format('%d-%d', ms, seq + 1)
end
`;

/**
 * KEYS: value, version, clock, feed stream. ARGV: value, expected ('' or '=' .. version), ttl ms
 * ('' for none), key (as the caller named it). The compare-and-set of COMPARE_AND_SET and, when
 * it succeeds, the feed entry. Returns {1, newVersion, offset} or {0, currentVersion or '', value or false}.
 */
export const COMPARE_AND_SET_LOGGED = new LuaScript(`${CURRENT_VERSION}
local v = current_version()
if ARGV[2] == '' then
  if v then return {0, v, redis.call('GET', KEYS[1])} end
elseif v ~= string.sub(ARGV[2], 2) then
  return {0, v or '', redis.call('GET', KEYS[1])}
end
local nv = string.format('%d', redis.call('INCR', KEYS[3]))
if ARGV[3] == '' then
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('SET', KEYS[2], nv)
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
  redis.call('SET', KEYS[2], nv, 'PX', ARGV[3])
end
local offset = redis.call('XADD', KEYS[4], '*', 'k', ARGV[4], 'v', ARGV[1])
return {1, nv, offset}
`);

/** KEYS: meta. ARGV: reader field, offset. Moves the reader's checkpoint forward only. */
export const COMMIT_FEED = new LuaScript(`${FEED_IDS}
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and not id_less(current, ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`);

/**
 * KEYS: feed stream, meta. ARGV: max entries. Trims up to the lowest reader checkpoint, then the
 * oldest entries past max entries; records the largest offset removed. Returns how many went.
 */
export const TRIM_FEED = new LuaScript(`${FEED_IDS}
local removed = 0
local largest = false
local function cut(last)
  removed = removed + redis.call('XTRIM', KEYS[1], 'MINID', id_next(last))
  if not largest or id_less(largest, last) then largest = last end
end
local low = false
local meta = redis.call('HGETALL', KEYS[2])
for i = 1, #meta, 2 do
  if string.sub(meta[i], 1, 2) == 'r:' and (not low or id_less(meta[i + 1], low)) then low = meta[i + 1] end
end
if low then
  local last = redis.call('XREVRANGE', KEYS[1], low, '-', 'COUNT', 1)
  if #last > 0 then cut(last[1][1]) end
end
local max = tonumber(ARGV[1])
local len = redis.call('XLEN', KEYS[1])
while len > max do
  local page = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', math.min(len - max, 1000))
  cut(page[#page][1])
  len = redis.call('XLEN', KEYS[1])
end
if largest then
  local before = redis.call('HGET', KEYS[2], 'trimmed')
  if not before or id_less(before, largest) then redis.call('HSET', KEYS[2], 'trimmed', largest) end
end
return removed
`);
