// What every part of the Redis driver shares: the client, the limits, the key layout, the closed
// state and the one way each operation runs (closed check, error mapping, scripts by SHA1).
//
// Layout: a key-value key K is the plain string `<keyPrefix>K`. Everything else the driver keeps
// lives under `<keyPrefix>\xff…`: the byte 0xFF never occurs in UTF-8, so no user key can collide
// with it and scans can skip it exactly.
//   <p>\xffv\xffK                 CAS version of K (see lua.ts)
//   <p>\xffclock                  the version counter
//   <p>\xffq\xff<queue>\xff<part>  queue structures (ready, invisible, payload, …; see lua.ts)
//   <p>\xffs\xff<stream>          a Redis stream (fields p: payload, h: headers JSON)
//   <p>\xffc\xff<stream>\xff<group>  a group's committed offset
//   <p>\xffl\xff{K}…               ledger counters and change records (see ledger.ts)
//   <p>\xfff\xff{F}[\xffmeta]       change feed F: its stream and its readers' checkpoints (changefeed.ts)
// Pub/sub channels (a namespace apart from keys) are `<keyPrefix><topic>`.
//
// On Redis Cluster the keys one script or command touches must share a slot. Reserved keys that go
// with something (a value's version, a slot's clock, a queue's parts, a ledger's records) then
// carry a hash tag right after the reserved byte, chosen to hash to that thing's slot (slots.ts):
//   <p>\xff{t}v\xffK   where {t} hashes to the slot of <p>K, and so on for the others.
// On a single server the tag is empty and the layout is the one above.
import type { Cluster, Redis } from 'ioredis';
import { DriverError } from '../errors';
import type { Limits } from '../limits';
import { classifyRedisError, DRIVER } from './errors';
import type { LuaScript } from './lua';
import { hashTagFor, slotOf } from './slots';

/** A single server's client or a Redis Cluster's: the commands the driver sends are the same. */
export type RedisClient = Redis | Cluster;

/** The byte that starts the driver's reserved namespace. */
export const RESERVED = 0xff;

/** Waits (queue receive, stream read) poll with these bounds. */
const POLL_MIN_MS = 10;
const POLL_MAX_MS = 200;

export type Arg = string | Buffer | number;

function rethrowClassified(err: unknown): never {
  throw classifyRedisError(err);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class RedisContext {
  readonly keyPrefix: string;
  readonly prefix: Buffer;
  /** The last connection error seen, for health(). */
  lastError: string | undefined;
  private closed = false;

  constructor(
    readonly client: RedisClient,
    readonly limits: Limits,
    keyPrefix: string,
    /** True on Redis Cluster: reserved keys then carry hash tags (see above). */
    readonly cluster = false,
  ) {
    this.keyPrefix = keyPrefix;
    this.prefix = Buffer.from(keyPrefix, 'utf8');
  }

  get isClosed(): boolean {
    return this.closed;
  }

  markClosed(): void {
    this.closed = true;
  }

  /**
   * Runs one operation, turning every failure into a DriverError where it can be classified.
   * Never throws: a failure, even a synchronous one (a refused argument), is the promise's.
   * Not an async function: on the fast paths each extra await is a turn of the microtask queue.
   */
  run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new DriverError(DRIVER, 'Unavailable', 'the driver is closed'));
    try {
      return operation().catch(rethrowClassified);
    } catch (err) {
      return Promise.reject(classifyRedisError(err));
    }
  }

  async eval(script: LuaScript, keys: Buffer[], args: Arg[]): Promise<unknown> {
    try {
      return await this.client.callBuffer('EVALSHA', [script.sha, keys.length, ...keys, ...args]);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return this.client.callBuffer('EVAL', [script.lua, keys.length, ...keys, ...args]);
    }
  }

  /** Calls attempt until it returns something or waitMs has passed, backing off between tries. */
  async poll<T>(waitMs: number, attempt: () => Promise<T[]>): Promise<T[]> {
    const deadline = Date.now() + waitMs;
    let pause = POLL_MIN_MS;
    while (true) {
      const got = await attempt();
      const left = deadline - Date.now();
      if (got.length > 0 || left <= 0 || this.closed) return got;
      await sleep(Math.min(pause, left));
      pause = Math.min(POLL_MAX_MS, pause * 2);
    }
  }

  valueKey(key: string): Buffer {
    // One allocation: keys are built on every call of the fast paths.
    const out = Buffer.allocUnsafe(this.prefix.length + Buffer.byteLength(key, 'utf8'));
    this.prefix.copy(out, 0);
    out.write(key, this.prefix.length, 'utf8');
    return out;
  }

  /** A reserved key on the slot of `anchor` (on a single server: internalKey(kind, …parts)). */
  internalKeyOn(anchor: string | Buffer, kind: string, ...parts: string[]): Buffer {
    return this.internalKey(this.cluster ? hashTagFor(slotOf(anchor)) + kind : kind, ...parts);
  }

  /**
   * Splits items into groups whose keys share a slot, for commands and scripts that take several
   * keys (one group on a single server). Each group keeps the items' order and their indexes.
   */
  bySlot<T>(items: readonly T[], keyOf: (item: T) => Buffer): { items: T[]; indexes: number[] }[] {
    if (!this.cluster) return [{ items: [...items], indexes: items.map((_, i) => i) }];
    const groups = new Map<number, { items: T[]; indexes: number[] }>();
    items.forEach((item, i) => {
      const slot = slotOf(keyOf(item));
      let group = groups.get(slot);
      if (!group) groups.set(slot, (group = { items: [], indexes: [] }));
      group.items.push(item);
      group.indexes.push(i);
    });
    return [...groups.values()];
  }

  internalKey(kind: string, ...parts: string[]): Buffer {
    let length = this.prefix.length + 1 + Buffer.byteLength(kind, 'utf8');
    for (const part of parts) length += 1 + Buffer.byteLength(part, 'utf8');
    const out = Buffer.allocUnsafe(length);
    let at = this.prefix.copy(out, 0);
    out[at++] = RESERVED;
    at += out.write(kind, at, 'utf8');
    for (const part of parts) {
      out[at++] = RESERVED;
      at += out.write(part, at, 'utf8');
    }
    return out;
  }
}
