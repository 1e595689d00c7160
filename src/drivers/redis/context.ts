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
import type Redis from 'ioredis';
import { DriverError } from '../errors';
import type { Limits } from '../limits';
import { classifyRedisError, DRIVER } from './errors';
import type { LuaScript } from './lua';

/** The byte that starts the driver's reserved namespace. */
export const RESERVED = 0xff;

/** Waits (queue receive, stream read) poll with these bounds. */
const POLL_MIN_MS = 10;
const POLL_MAX_MS = 200;

export type Arg = string | Buffer | number;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class RedisContext {
  readonly keyPrefix: string;
  readonly prefix: Buffer;
  /** The last connection error seen, for health(). */
  lastError: string | undefined;
  private closed = false;

  constructor(
    readonly client: Redis,
    readonly limits: Limits,
    keyPrefix: string,
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

  /** Runs one operation, turning every failure into a DriverError where it can be classified. */
  async run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.closed) throw new DriverError(DRIVER, 'Unavailable', 'the driver is closed');
    try {
      return await operation();
    } catch (err) {
      throw classifyRedisError(err);
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
    return Buffer.concat([this.prefix, Buffer.from(key, 'utf8')]);
  }

  internalKey(kind: string, ...parts: string[]): Buffer {
    const chunks: Buffer[] = [this.prefix, Buffer.from([RESERVED]), Buffer.from(kind, 'utf8')];
    for (const part of parts) chunks.push(Buffer.from([RESERVED]), Buffer.from(part, 'utf8'));
    return Buffer.concat(chunks);
  }
}
