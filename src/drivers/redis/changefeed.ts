// changefeed on Redis: a logged write is COMPARE_AND_SET_LOGGED (lua.ts), one script that does the
// compare-and-set and the XADD to the feed's stream, so a write is in the feed exactly when it is
// stored. Readers block in XREAD on connections of their own (a blocked command would hold up
// every other call on the driver's shared connection); an idle one is kept for the next read.
//
// Cluster note: the feed's stream and meta hash share the hash tag {feed}; the value key, its
// version and the version clock do not (the key-value layout predates feeds), so a Redis Cluster
// backend does not declare changefeed (redis-driver.ts) until the logged write keeps them together.
import { Cluster } from 'ioredis';
import type { Bytes, ChangeFeed, FeedEntry, FeedPage, LoggedCasResult } from '../capabilities';
import { DriverError } from '../errors';
import { checkKey, checkLimit, checkTtl, checkValue, type Limits } from '../limits';
import { checkMs, checkName, ttlMs } from './checks';
import type { RedisClient, RedisContext } from './context';
import { DRIVER, invalid } from './errors';
import * as lua from './lua';
import { asBuffer, toBuffer } from './replies';

const OFFSET = /^\d+-\d+$/;
/** The longest a read may block (the blocking connection's command timeout allows for it). */
export const MAX_FEED_WAIT_MS = 10_000;
/** Blocking connections kept idle for the next read. */
const IDLE_READERS = 4;
/** Feeds whose stream key is kept built. */
const MAX_CACHED_FEEDS = 1_000;
/** Keys whose value and version keys are kept built (a session is written again and again). */
const MAX_CACHED_KEYS = 10_000;

function checkOffset(name: string, offset: unknown): string {
  if (typeof offset !== 'string' || !OFFSET.test(offset)) throw invalid(`${name} must be an offset this feed returned`);
  return offset;
}

/** Orders two stream ids ("ms-seq"). */
export function compareOffsets(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  if (am !== bm) return am < bm ? -1 : 1;
  return as === bs ? 0 : as < bs ? -1 : 1;
}

/** COMPARE_AND_SET_LOGGED's reply: {1, newVersion, offset} or {0, currentVersion or '', value or nil}. */
function loggedCasResult(reply: unknown): LoggedCasResult {
  if (!Array.isArray(reply)) throw new DriverError(DRIVER, 'Unavailable', 'unexpected reply to compareAndSetLogged');
  const version = asBuffer(reply[1]).toString('utf8');
  if (Number(reply[0]) === 1) return { ok: true, version, offset: asBuffer(reply[2]).toString('utf8'), current: null };
  const current = reply[2] == null ? null : asBuffer(reply[2]);
  return { ok: false, version: version === '' ? null : version, offset: null, current };
}

/** cache's entry for name, built on a miss; the cache starts over once it holds `max`. */
function builtOnce<T>(cache: Map<string, T>, max: number, name: string, build: () => T): T {
  let built = cache.get(name);
  if (built === undefined) {
    if (cache.size >= max) cache.clear();
    built = build();
    cache.set(name, built);
  }
  return built;
}

type XReadReply = [Buffer, [Buffer, Buffer[]][]][] | null;

export class RedisChangeFeed implements ChangeFeed {
  private readonly limits: Limits;
  private readonly idle: RedisClient[] = [];
  private readonly busy = new Set<RedisClient>();
  /** Keys every logged write names, built once (a write is on the fast path). */
  private readonly clockKey: Buffer;
  private readonly streamKeys = new Map<string, Buffer>();
  private readonly keyPairs = new Map<string, [Buffer, Buffer]>();

  constructor(
    private readonly ctx: RedisContext,
    private readonly commandTimeoutMs: number,
  ) {
    this.limits = ctx.limits;
    this.clockKey = ctx.internalKey('clock');
  }

  compareAndSetLogged(
    feed: string,
    key: string,
    value: Bytes,
    expectedVersion: string | null,
    ttlSeconds?: number,
  ): Promise<LoggedCasResult> {
    // Not async functions: a logged write is on the session store's fast path.
    return this.ctx.run(() => {
      checkName('feed', feed, this.limits);
      checkKey(DRIVER, key, this.limits);
      checkValue(DRIVER, value, this.limits);
      if (expectedVersion !== null && typeof expectedVersion !== 'string') {
        throw invalid('expectedVersion must be a string or null');
      }
      const ms = ttlSeconds === undefined ? '' : ttlMs(checkTtl(DRIVER, ttlSeconds));
      const expected = expectedVersion === null ? '' : `=${expectedVersion}`;
      const [valueKey, versionKey] = this.valueKeys(key);
      const keys = [valueKey, versionKey, this.clockKey, this.streamKey(feed)];
      return this.ctx
        .eval(lua.COMPARE_AND_SET_LOGGED, keys, [toBuffer(value), expected, ms, key])
        .then(loggedCasResult);
    });
  }

  async readFeed(feed: string, options: { after: string | null; limit?: number; waitMs?: number }): Promise<FeedPage> {
    return this.ctx.run(async () => {
      checkName('feed', feed, this.limits);
      const after =
        options?.after === null || options?.after === undefined ? null : checkOffset('after', options.after);
      const limit = checkLimit(DRIVER, options?.limit, 100);
      const waitMs = checkMs('waitMs', options?.waitMs, { fallback: 0 });
      if (waitMs > MAX_FEED_WAIT_MS) throw invalid(`waitMs must be at most ${MAX_FEED_WAIT_MS}`);
      const args: (string | number | Buffer)[] = ['COUNT', limit];
      const stream = this.streamKey(feed);
      let reply: XReadReply;
      if (waitMs > 0) {
        const reader = await this.acquire();
        try {
          reply = (await reader.xreadBuffer(
            ...(args as ['COUNT', number]),
            'BLOCK',
            waitMs,
            'STREAMS',
            stream,
            after ?? '0-0',
          )) as XReadReply;
        } finally {
          this.release(reader);
        }
      } else {
        reply = (await this.ctx.client.xreadBuffer('COUNT', limit, 'STREAMS', stream, after ?? '0-0')) as XReadReply;
      }
      const entries: FeedEntry[] = (reply?.[0]?.[1] ?? []).map(([id, fields]) => {
        let key = '';
        let value: Buffer = Buffer.alloc(0);
        for (let i = 0; i + 1 < fields.length; i += 2) {
          const field = fields[i].toString('utf8');
          if (field === 'k') key = fields[i + 1].toString('utf8');
          else if (field === 'v') value = fields[i + 1];
        }
        return { offset: id.toString('utf8'), key, value };
      });
      // Read after the entries: a trim that came first shows; one that came later only removed
      // entries this read already returned (trims remove a prefix), so it is no gap.
      const trimmed = await this.ctx.client.hget(this.metaKey(feed), 'trimmed');
      const gap =
        trimmed !== null &&
        (after === null || compareOffsets(trimmed, after) > 0) &&
        (entries.length === 0 || compareOffsets(trimmed, entries[0].offset) < 0);
      return { entries, gap };
    });
  }

  async feedHead(feed: string): Promise<string | null> {
    return this.ctx.run(async () => {
      checkName('feed', feed, this.limits);
      const last = (await this.ctx.client.xrevrangeBuffer(this.streamKey(feed), '+', '-', 'COUNT', 1)) as [
        Buffer,
        Buffer[],
      ][];
      if (last.length > 0) return last[0][0].toString('utf8');
      // Empty: everything written was trimmed; the largest trimmed offset is as good a head.
      return this.ctx.client.hget(this.metaKey(feed), 'trimmed');
    });
  }

  async commitFeed(feed: string, reader: string, offset: string): Promise<void> {
    await this.ctx.run(async () => {
      checkName('feed', feed, this.limits);
      checkName('reader', reader, this.limits);
      checkOffset('offset', offset);
      await this.ctx.eval(lua.COMMIT_FEED, [this.metaKey(feed)], [`r:${reader}`, offset]);
    });
  }

  async trimFeed(feed: string, options: { maxEntries: number }): Promise<number> {
    return this.ctx.run(async () => {
      checkName('feed', feed, this.limits);
      const max = options?.maxEntries;
      if (typeof max !== 'number' || !Number.isInteger(max) || max < 0) {
        throw invalid('maxEntries must be a whole number, at least 0');
      }
      return Number(await this.ctx.eval(lua.TRIM_FEED, [this.streamKey(feed), this.metaKey(feed)], [max]));
    });
  }

  /** Closes the blocking connections (the driver's close). */
  async close(): Promise<RedisClient[]> {
    const all = [...this.idle, ...this.busy];
    this.idle.length = 0;
    this.busy.clear();
    return all;
  }

  private async acquire(): Promise<RedisClient> {
    const ready = this.idle.pop();
    if (ready) {
      this.busy.add(ready);
      return ready;
    }
    // A blocked XREAD outlives the usual command timeout; on a cluster the reader is a cluster too
    // (the feed's keys are hash-tagged, so each read goes to the one node owning them).
    const commandTimeout = this.commandTimeoutMs + MAX_FEED_WAIT_MS;
    const client = this.ctx.client;
    const reader: RedisClient =
      client instanceof Cluster
        ? client.duplicate([], { redisOptions: { ...client.options.redisOptions, commandTimeout } })
        : client.duplicate({ commandTimeout });
    reader.on('error', (err: Error) => {
      this.ctx.lastError = err.message;
    });
    try {
      await reader.connect();
    } catch (err) {
      reader.disconnect();
      throw err;
    }
    this.busy.add(reader);
    return reader;
  }

  private release(reader: RedisClient): void {
    if (!this.busy.delete(reader)) return; // closed meanwhile
    if (this.ctx.isClosed || this.idle.length >= IDLE_READERS || reader.status !== 'ready') reader.disconnect();
    else this.idle.push(reader);
  }

  /** A key's value key and version key (the layout of keyvalue.ts), built once per key. */
  private valueKeys(key: string): [Buffer, Buffer] {
    return builtOnce(this.keyPairs, MAX_CACHED_KEYS, key, () => [
      this.ctx.valueKey(key),
      this.ctx.internalKey('v', key),
    ]);
  }

  private streamKey(feed: string): Buffer {
    return builtOnce(this.streamKeys, MAX_CACHED_FEEDS, feed, () => this.ctx.internalKey('f', `{${feed}}`));
  }

  private metaKey(feed: string): Buffer {
    return this.ctx.internalKey('f', `{${feed}}`, 'meta');
  }
}
