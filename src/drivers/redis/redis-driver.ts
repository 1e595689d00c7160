// The Redis driver's implementation (ioredis 5). Loaded only by redisDriver.create().
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
// Pub/sub channels (a namespace apart from keys) are `<keyPrefix><topic>`.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Redis, { type RedisOptions } from 'ioredis';
import type {
  Bytes,
  Capability,
  CasResult,
  Headers,
  KeyValueBasic,
  KeyValueBatch,
  KeyValueCas,
  KeyValueScan,
  KeyValueTtl,
  LedgerBasic,
  LedgerChange,
  LedgerOutcome,
  PubSubBasic,
  PubSubMessage,
  QueueBasic,
  QueueMessage,
  QueueOptions,
  ScanPage,
  StreamBasic,
  StreamRecord,
  Subscription,
  Versioned,
} from '../capabilities';
import type { DriverBase, DriverHealth } from '../driver';
import { DriverError, isNetworkError } from '../errors';
import {
  checkBatch,
  checkHeaders as checkHeadersOf,
  checkKey,
  checkKeyList as checkKeyListOf,
  checkLimit,
  checkMaxDeliveries as checkMaxDeliveriesOf,
  checkMs as checkMsOf,
  checkName as checkNameOf,
  checkTtl,
  checkValue,
  type Limits,
} from '../limits';
import type { DriverContext } from '../registry';
import { REDIS_CAPABILITIES, type RedisConfig } from './config';
import { RedisLedger } from './ledger';
import * as lua from './lua';

const DRIVER = 'redis';
const RESERVED = 0xff;
const DEFAULT_SCAN_LIMIT = 100;
/** SCAN COUNT bounds, and how many SCAN calls one page may make before returning what it has. */
const MIN_SCAN_COUNT = 10;
const MAX_SCAN_COUNT = 1_000;
const MAX_SCAN_CALLS = 64;
const SCAN_CURSOR_TAG = 'r1:';
/** Waits (queue receive, stream read) poll with these bounds. */
const POLL_MIN_MS = 10;
const POLL_MAX_MS = 200;
const STREAM_OFFSET = /^\d+-\d+$/;
/** Pub/sub envelope: magic, u32 length of JSON metadata, metadata, payload. */
const ENVELOPE_MAGIC = Buffer.from([0x00, 0x50, 0x52, 0x31]); // \0PR1

type Arg = string | Buffer | number;

// --- validation ---------------------------------------------------------------------------------

function invalid(message: string): DriverError {
  return new DriverError(DRIVER, 'InvalidArgument', message);
}

const checkName = (kind: string, name: unknown, limits: Limits): string => checkNameOf(DRIVER, kind, name, limits);
const checkHeaders = (headers: unknown): Headers => checkHeadersOf(DRIVER, headers);

/** Whole milliseconds: Redis takes integers. */
const checkMs = (name: string, value: unknown, options: { min?: number; fallback?: number }): number =>
  Math.ceil(checkMsOf(DRIVER, name, value, options));
const checkMaxDeliveries = (value: unknown): number => checkMaxDeliveriesOf(DRIVER, value);
const checkKeyList = (keys: unknown, limits: Limits): string[] => checkKeyListOf(DRIVER, keys, limits);

function checkOffset(offset: unknown): string {
  if (typeof offset !== 'string' || !STREAM_OFFSET.test(offset)) throw invalid('malformed stream offset');
  return offset;
}

/** Seconds to whole milliseconds for PX/PEXPIRE: never 0, so a tiny TTL still expires rather than fails. */
function ttlMs(ttlSeconds: number): number {
  const ms = Math.max(1, Math.round(ttlSeconds * 1000));
  if (!Number.isSafeInteger(ms)) throw invalid('ttlSeconds is too large');
  return ms;
}

// --- errors -------------------------------------------------------------------------------------

/** Reply prefixes that mean "the server cannot answer now, but may later". */
const TRANSIENT_REPLIES = new Set([
  'LOADING',
  'BUSY',
  'MASTERDOWN',
  'READONLY',
  'TRYAGAIN',
  'CLUSTERDOWN',
  'MISCONF',
  'OOM',
  'NOREPLICAS',
]);
const PERMISSION_REPLIES = new Set(['NOAUTH', 'WRONGPASS', 'NOPERM']);

/** Maps ioredis and server errors to DriverError; anything unrecognised is returned as is. */
export function classifyRedisError(err: unknown): unknown {
  if (err instanceof DriverError) return err;
  if (!(err instanceof Error)) return err;
  const message = err.message;
  const wrap = (code: ConstructorParameters<typeof DriverError>[1]): DriverError =>
    new DriverError(DRIVER, code, message, { cause: err });
  if (message === 'Command timed out' || message.startsWith('Socket timeout')) return wrap('Timeout');
  if (
    isNetworkError(err) ||
    err.name === 'MaxRetriesPerRequestError' ||
    message === 'Connection is closed.' ||
    message.startsWith("Stream isn't writeable") ||
    message.includes('max number of clients')
  ) {
    return wrap('Unavailable');
  }
  if (err.name === 'ReplyError') {
    const prefix = message.split(' ', 1)[0];
    if (TRANSIENT_REPLIES.has(prefix)) return wrap('Unavailable');
    if (PERMISSION_REPLIES.has(prefix)) return wrap('Permission');
    return wrap('InvalidArgument'); // WRONGTYPE, ERR …: the same call fails again
  }
  return err;
}

// --- helpers ------------------------------------------------------------------------------------

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

function headersFrom(value: unknown): Headers {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  const out: Headers = {};
  for (const [name, v] of Object.entries(value)) if (typeof v === 'string') out[name] = v;
  return out;
}

function parseHeaders(json: Buffer | string | null | undefined): Headers {
  if (json === null || json === undefined) return {};
  try {
    return headersFrom(JSON.parse(json.toString()));
  } catch {
    return {};
  }
}

function encodeEnvelope(messageId: string, headers: Headers, payload: Uint8Array): Buffer {
  const meta = Buffer.from(JSON.stringify({ id: messageId, h: headers }), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(meta.length);
  return Buffer.concat([ENVELOPE_MAGIC, length, meta, payload]);
}

/** Decodes our envelope; a message published by anything else is taken whole as the payload. */
function decodeEnvelope(message: Buffer): { messageId: string; headers: Headers; payload: Buffer } {
  const start = ENVELOPE_MAGIC.length + 4;
  if (message.length >= start && message.subarray(0, ENVELOPE_MAGIC.length).equals(ENVELOPE_MAGIC)) {
    const end = start + message.readUInt32BE(ENVELOPE_MAGIC.length);
    if (end <= message.length) {
      try {
        const meta: unknown = JSON.parse(message.subarray(start, end).toString('utf8'));
        if (meta !== null && typeof meta === 'object' && typeof (meta as { id?: unknown }).id === 'string') {
          const { id, h } = meta as { id: string; h?: unknown };
          return { messageId: id, headers: headersFrom(h), payload: message.subarray(end) };
        }
      } catch {
        // not ours after all
      }
    }
  }
  return { messageId: randomUUID(), headers: {}, payload: message };
}

function asBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  throw new DriverError(DRIVER, 'Unavailable', `unexpected reply from server: ${typeof value}`);
}

/** Reads a flat {id, payload, headers, count, …} script reply. */
function toQueueMessages(reply: unknown, receiptFor: (id: string, count: number) => string): QueueMessage[] {
  if (!Array.isArray(reply)) return [];
  const out: QueueMessage[] = [];
  for (let i = 0; i + 3 < reply.length; i += 4) {
    const messageId = asBuffer(reply[i]).toString('utf8');
    const deliveryCount = Number(reply[i + 3]);
    out.push({
      messageId,
      payload: asBuffer(reply[i + 1]),
      headers: parseHeaders(asBuffer(reply[i + 2])),
      deliveryCount,
      receipt: receiptFor(messageId, deliveryCount),
    });
  }
  return out;
}

function parseReceipt(receipt: unknown): { id: string; token: string } {
  if (typeof receipt !== 'string') throw invalid('receipt must be a string');
  const dot = receipt.lastIndexOf('.');
  if (dot <= 0 || dot === receipt.length - 1) throw invalid('malformed receipt');
  return { id: receipt.slice(0, dot), token: receipt.slice(dot + 1) };
}

function toStreamRecords(entries: [Buffer, Buffer[]][] | null): StreamRecord[] {
  if (!entries) return [];
  return entries.map(([id, fields]) => {
    let payload: Buffer = Buffer.alloc(0);
    let headers: Headers = {};
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const field = fields[i].toString('utf8');
      if (field === 'p') payload = fields[i + 1];
      else if (field === 'h') headers = parseHeaders(fields[i + 1]);
    }
    return { offset: id.toString('utf8'), payload, headers };
  });
}

/** What a scan page leaves for the next: the Redis cursor ('' once SCAN is done), keys found but
 * not yet returned, the COUNT hint that suited the key density so far, and the run_id of the
 * server process that issued the cursor (absent in cursors of older versions). */
interface ScanState {
  c: string;
  p: string[];
  n: number;
  s?: string;
}

/** INFO server's run_id: random per server process, so it changes on a restart or a failover. */
function parseRunId(info: string): string {
  const match = /^run_id:([0-9a-f]+)\s*$/m.exec(info);
  if (!match) throw new DriverError(DRIVER, 'Unsupported', 'INFO server has no run_id');
  return match[1];
}

function encodeScanCursor(state: ScanState): string {
  return SCAN_CURSOR_TAG + Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');
}

function decodeScanCursor(cursor: unknown): ScanState | null {
  if (cursor === undefined || cursor === null) return null;
  const bad = (): DriverError => invalid('malformed scan cursor');
  if (typeof cursor !== 'string' || !cursor.startsWith(SCAN_CURSOR_TAG)) throw bad();
  let state: unknown;
  try {
    state = JSON.parse(Buffer.from(cursor.slice(SCAN_CURSOR_TAG.length), 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  const s = state as Partial<ScanState> | null;
  if (
    s === null ||
    typeof s !== 'object' ||
    typeof s.c !== 'string' ||
    !/^\d*$/.test(s.c) ||
    !Array.isArray(s.p) ||
    !s.p.every((k) => typeof k === 'string') ||
    typeof s.n !== 'number' ||
    !Number.isInteger(s.n) ||
    (s.s !== undefined && typeof s.s !== 'string')
  ) {
    throw bad();
  }
  return { c: s.c, p: s.p, n: Math.min(MAX_SCAN_COUNT, Math.max(MIN_SCAN_COUNT, s.n)), s: s.s };
}

function readFile(what: string, path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new DriverError(DRIVER, 'InvalidArgument', `cannot read tls.${what} (${path}): ${String(err)}`, {
      cause: err,
    });
  }
}

function clientOptions(config: RedisConfig, context: DriverContext): RedisOptions {
  const options: RedisOptions = {
    lazyConnect: true,
    // Fail fast while disconnected instead of queueing: the circuit breaker needs quick errors.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: config.connectTimeoutMs,
    commandTimeout: config.commandTimeoutMs,
    connectionName: `prism:${context.backend}`,
  };
  if (config.db !== undefined) options.db = config.db;
  if (config.username !== undefined) options.username = config.username;
  if (config.password !== undefined) options.password = config.password;
  if (config.tls) {
    const { servername, rejectUnauthorized } = config.tls;
    options.tls = {
      ...(config.tls.ca !== undefined && { ca: readFile('ca', config.tls.ca) }),
      ...(config.tls.cert !== undefined && { cert: readFile('cert', config.tls.cert) }),
      ...(config.tls.key !== undefined && { key: readFile('key', config.tls.key) }),
      ...(servername !== undefined && { servername }),
      ...(rejectUnauthorized !== undefined && { rejectUnauthorized }),
    };
  }
  return options;
}

export class RedisDriver
  implements
    DriverBase,
    KeyValueBasic,
    KeyValueTtl,
    KeyValueScan,
    KeyValueBatch,
    KeyValueCas,
    PubSubBasic,
    QueueBasic,
    StreamBasic,
    LedgerBasic
{
  readonly driverName = DRIVER;
  readonly capabilities: ReadonlySet<Capability> = new Set(REDIS_CAPABILITIES);

  private readonly limits: Limits;
  private readonly prefix: Buffer;
  private readonly keyPrefix: string;
  private subscriber: Promise<Redis> | undefined;
  private readonly handlers = new Map<string, Set<{ handler: (message: PubSubMessage) => void }>>();
  private readonly ledger: RedisLedger;
  private lastError: string | undefined;
  private closed = false;
  /** Counts lost connections; with it, the server run a cached run_id belongs to. */
  private connectionEpoch = 0;
  private serverRun: Promise<string> | undefined;

  private constructor(
    private readonly client: Redis,
    config: RedisConfig,
  ) {
    this.limits = { ...config.limits };
    this.keyPrefix = config.keyPrefix ?? '';
    this.prefix = Buffer.from(this.keyPrefix, 'utf8');
    this.ledger = new RedisLedger({
      limits: this.limits,
      internalKey: (kind, ...parts) => this.internalKey(kind, ...parts),
      eval: (script, keys, args) => this.eval(script, keys, args),
      get: (key) => this.client.getBuffer(key),
    });
    client.on('error', (err: Error) => {
      this.lastError = err.message;
    });
    // The next connection may reach another server process (a restart, a failover).
    client.on('close', () => {
      this.connectionEpoch += 1;
      this.serverRun = undefined;
    });
  }

  /** Connects (failing with Unavailable when the server does not answer) and returns the driver. */
  static async connect(config: RedisConfig, context: DriverContext): Promise<RedisDriver> {
    const client = new Redis(config.url, clientOptions(config, context));
    const driver = new RedisDriver(client, config);
    try {
      await client.connect();
    } catch (err) {
      client.disconnect();
      throw classifyRedisError(err);
    }
    return driver;
  }

  async health(): Promise<DriverHealth> {
    if (this.closed) return { healthy: false, detail: 'closed' };
    try {
      await this.client.ping();
      return { healthy: true };
    } catch (err) {
      const last = this.lastError ? `, last connection error: ${this.lastError}` : '';
      return { healthy: false, detail: `${(err as Error).message} (status ${this.client.status}${last})` };
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const clients = [this.client];
    if (this.subscriber) clients.push(...(await this.subscriber.then((s) => [s]).catch(() => [])));
    this.handlers.clear();
    await Promise.all(
      clients.map(async (c) => {
        try {
          await c.quit();
        } catch {
          c.disconnect();
        }
      }),
    );
  }

  // --- keyvalue_basic ---------------------------------------------------------------------------

  async get(key: string): Promise<Bytes | null> {
    return this.run(() => {
      checkKey(DRIVER, key, this.limits);
      return this.client.getBuffer(this.valueKey(key));
    });
  }

  async set(key: string, value: Bytes): Promise<void> {
    await this.run(() => {
      checkKey(DRIVER, key, this.limits);
      checkValue(DRIVER, value, this.limits);
      return this.eval(lua.SET, [this.valueKey(key), this.versionKey(key)], [toBuffer(value), '']);
    });
  }

  async delete(key: string): Promise<boolean> {
    return this.run(async () => {
      checkKey(DRIVER, key, this.limits);
      return Number(await this.eval(lua.DELETE_MANY, [this.valueKey(key), this.versionKey(key)], [])) > 0;
    });
  }

  async exists(key: string): Promise<boolean> {
    return this.run(async () => {
      checkKey(DRIVER, key, this.limits);
      return (await this.client.exists(this.valueKey(key))) > 0;
    });
  }

  // --- keyvalue_ttl -----------------------------------------------------------------------------

  async setWithTtl(key: string, value: Bytes, ttlSeconds: number): Promise<void> {
    await this.run(() => {
      checkKey(DRIVER, key, this.limits);
      checkValue(DRIVER, value, this.limits);
      const ms = ttlMs(checkTtl(DRIVER, ttlSeconds));
      return this.eval(lua.SET, [this.valueKey(key), this.versionKey(key)], [toBuffer(value), ms]);
    });
  }

  async expire(key: string, ttlSeconds: number): Promise<boolean> {
    return this.run(async () => {
      checkKey(DRIVER, key, this.limits);
      const ms = ttlMs(checkTtl(DRIVER, ttlSeconds));
      return Number(await this.eval(lua.EXPIRE, [this.valueKey(key), this.versionKey(key)], [ms])) === 1;
    });
  }

  async ttl(key: string): Promise<number | null> {
    return this.run(async () => {
      checkKey(DRIVER, key, this.limits);
      const ms = await this.client.pttl(this.valueKey(key));
      if (ms === -2) return null;
      if (ms === -1) return -1;
      return Math.max(0, ms) / 1000;
    });
  }

  async persist(key: string): Promise<boolean> {
    return this.run(async () => {
      checkKey(DRIVER, key, this.limits);
      return Number(await this.eval(lua.PERSIST, [this.valueKey(key), this.versionKey(key)], [])) === 1;
    });
  }

  // --- keyvalue_scan ----------------------------------------------------------------------------

  /**
   * SCAN with MATCH `<keyPrefix><prefix>*`. Guarantees (Redis SCAN's): every key present for the
   * whole scan is returned; a key may in rare cases (the table shrinking mid-scan) come back on two
   * pages, which callers that must not see repeats remove themselves. Within a page keys are
   * unique, and a page never holds more than `limit` keys: extra keys found by one SCAN call travel
   * in the cursor to the next page.
   *
   * A SCAN cursor only means something to the server process that issued it (the hash seed is
   * random per process), so a cursor carries that process's run_id: resumed on another process
   * (after a restart or a failover) the iteration starts again from the beginning, so keys present
   * throughout are still returned, some of them twice, rather than silently skipped.
   */
  async scan(prefix: string, options?: { cursor?: string | null; limit?: number }): Promise<ScanPage> {
    return this.run(async () => {
      if (typeof prefix !== 'string') throw invalid('prefix must be a string');
      if (Buffer.byteLength(prefix, 'utf8') > this.limits.maxKeyBytes) throw invalid('prefix is too long');
      const limit = checkLimit(DRIVER, options?.limit, DEFAULT_SCAN_LIMIT);
      const state = decodeScanCursor(options?.cursor) ?? {
        c: '0',
        p: [],
        n: Math.min(MAX_SCAN_COUNT, Math.max(MIN_SCAN_COUNT, limit)),
      };
      const epoch = this.connectionEpoch;
      const run = await this.serverRunId();
      const pattern = `${globEscape(this.keyPrefix + prefix)}*`;
      const keys: string[] = [];
      const seen = new Set<string>();
      let pending = state.p.filter((k) => k.startsWith(prefix));
      let redisCursor: string | null = state.c === '' ? null : state.s === run ? state.c : '0';
      let count = state.n;
      for (let calls = 0; ; calls += 1) {
        while (keys.length < limit && pending.length > 0) {
          const key = pending.shift() as string;
          if (!seen.has(key)) {
            seen.add(key);
            keys.push(key);
          }
        }
        if (keys.length >= limit || redisCursor === null || calls >= MAX_SCAN_CALLS) break;
        const [next, batch] = await this.client.scanBuffer(redisCursor, 'MATCH', pattern, 'COUNT', count);
        if (this.connectionEpoch !== epoch) {
          throw new DriverError(DRIVER, 'Unavailable', 'the connection was re-established during the scan');
        }
        const found = this.userKeys(batch, prefix).filter((k) => !seen.has(k));
        pending = [...new Set(found)];
        redisCursor = next.toString() === '0' ? null : next.toString();
        // Aim the next COUNT at about `limit` matches, from the density seen.
        count =
          found.length === 0
            ? Math.min(MAX_SCAN_COUNT, count * 4)
            : Math.min(MAX_SCAN_COUNT, Math.max(MIN_SCAN_COUNT, Math.ceil((count * limit) / found.length)));
      }
      const done = redisCursor === null && pending.length === 0;
      return { keys, cursor: done ? null : encodeScanCursor({ c: redisCursor ?? '', p: pending, n: count, s: run }) };
    });
  }

  /** The connected server process's run_id, asked once per connection. */
  private serverRunId(): Promise<string> {
    if (!this.serverRun) {
      const asked = this.client.info('server').then(parseRunId);
      asked.catch(() => {
        if (this.serverRun === asked) this.serverRun = undefined;
      });
      this.serverRun = asked;
    }
    return this.serverRun;
  }

  // --- keyvalue_batch ---------------------------------------------------------------------------

  async getMany(keys: string[]): Promise<(Bytes | null)[]> {
    return this.run(async () => {
      const checked = checkKeyList(keys, this.limits);
      if (checked.length === 0) return [];
      return this.client.mgetBuffer(checked.map((k) => this.valueKey(k)));
    });
  }

  async setMany(entries: { key: string; value: Bytes }[]): Promise<void> {
    await this.run(async () => {
      checkBatch(DRIVER, 'entries', entries);
      for (const entry of entries) {
        if (entry === null || typeof entry !== 'object') throw invalid('each entry must be { key, value }');
        checkKey(DRIVER, entry.key, this.limits);
        checkValue(DRIVER, entry.value, this.limits);
      }
      if (entries.length === 0) return;
      const keys = entries.flatMap(({ key }) => [this.valueKey(key), this.versionKey(key)]);
      await this.eval(
        lua.SET_MANY,
        keys,
        entries.map(({ value }) => toBuffer(value)),
      );
    });
  }

  async deleteMany(keys: string[]): Promise<number> {
    return this.run(async () => {
      const checked = checkKeyList(keys, this.limits);
      if (checked.length === 0) return 0;
      const redisKeys = checked.flatMap((key) => [this.valueKey(key), this.versionKey(key)]);
      return Number(await this.eval(lua.DELETE_MANY, redisKeys, []));
    });
  }

  // --- keyvalue_cas -----------------------------------------------------------------------------

  async getVersioned(key: string): Promise<Versioned | null> {
    return this.run(async () => {
      checkKey(DRIVER, key, this.limits);
      const reply = await this.eval(lua.GET_VERSIONED, this.casKeys(key), []);
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
    return this.run(async () => {
      checkKey(DRIVER, key, this.limits);
      checkValue(DRIVER, value, this.limits);
      if (expectedVersion !== null && typeof expectedVersion !== 'string') {
        throw invalid('expectedVersion must be a string or null');
      }
      const ms = ttlSeconds === undefined ? '' : ttlMs(checkTtl(DRIVER, ttlSeconds));
      const expected = expectedVersion === null ? '' : `=${expectedVersion}`;
      const reply = await this.eval(lua.COMPARE_AND_SET, this.casKeys(key), [toBuffer(value), expected, ms]);
      if (!Array.isArray(reply)) throw new DriverError(DRIVER, 'Unavailable', 'unexpected reply to compareAndSet');
      const version = asBuffer(reply[1]).toString('utf8');
      return { ok: Number(reply[0]) === 1, version: version === '' ? null : version };
    });
  }

  // --- pubsub_basic -----------------------------------------------------------------------------

  async publish(topic: string, payload: Bytes, headers?: Headers): Promise<{ messageId: string }> {
    return this.run(async () => {
      checkName('topic', topic, this.limits);
      checkValue(DRIVER, payload, this.limits);
      const messageId = randomUUID();
      await this.client.publish(this.channel(topic), encodeEnvelope(messageId, checkHeaders(headers), payload));
      return { messageId };
    });
  }

  /** Resolves once Redis has acknowledged SUBSCRIBE on the driver's subscriber connection. */
  async subscribe(topic: string, handler: (message: PubSubMessage) => void): Promise<Subscription> {
    return this.run(async () => {
      checkName('topic', topic, this.limits);
      if (typeof handler !== 'function') throw invalid('handler must be a function');
      const subscriber = await this.subscriberConnection();
      const channel = this.channel(topic);
      let set = this.handlers.get(channel);
      if (!set) {
        set = new Set();
        this.handlers.set(channel, set);
      }
      const entry = { handler };
      set.add(entry);
      const handlers = set;
      const release = (): boolean => {
        handlers.delete(entry);
        if (handlers.size > 0 || this.handlers.get(channel) !== handlers) return false;
        this.handlers.delete(channel);
        return true;
      };
      try {
        // Sent even when the channel is already subscribed: its acknowledgement orders this call
        // after any UNSUBSCRIBE still in flight for the channel.
        await subscriber.subscribe(channel);
      } catch (err) {
        if (release()) subscriber.unsubscribe(channel).catch(() => undefined);
        throw err;
      }
      let active = true;
      return {
        unsubscribe: async () => {
          if (!active) return;
          active = false;
          // Decided and sent synchronously, so a concurrent subscribe's SUBSCRIBE goes after it.
          if (release() && !this.closed) {
            await subscriber.unsubscribe(channel).catch(() => undefined);
          }
        },
      };
    });
  }

  // --- queue_basic ------------------------------------------------------------------------------

  async enqueue(queue: string, payload: Bytes, headers?: Headers): Promise<{ messageId: string }> {
    return this.run(async () => {
      checkName('queue', queue, this.limits);
      checkValue(DRIVER, payload, this.limits);
      const json = JSON.stringify(checkHeaders(headers));
      const messageId = randomUUID();
      await this.eval(lua.ENQUEUE, this.queueKeys(queue), [messageId, toBuffer(payload), json]);
      return { messageId };
    });
  }

  async receive(
    queue: string,
    options: { max?: number; visibilityTimeoutMs: number; waitMs?: number } & QueueOptions,
  ): Promise<QueueMessage[]> {
    return this.run(async () => {
      checkName('queue', queue, this.limits);
      if (options === null || typeof options !== 'object') throw invalid('options are required');
      const max = checkLimit(DRIVER, options.max, 1);
      const visibility = checkMs('visibilityTimeoutMs', options.visibilityTimeoutMs, { min: 1 });
      const waitMs = checkMs('waitMs', options.waitMs, { fallback: 0 });
      const maxDeliveries = checkMaxDeliveries(options.maxDeliveries);
      const keys = this.queueKeys(queue);
      return this.poll(waitMs, async () =>
        toQueueMessages(
          await this.eval(lua.RECEIVE, keys, [max, visibility, maxDeliveries]),
          (id, count) => `${id}.${count}`,
        ),
      );
    });
  }

  /** Acks are idempotent: an already acked message, or a receipt whose lease ran out and was
   * handed to another consumer, is left alone without error. A dead letter's receipt drops it. */
  async ack(queue: string, receipt: string): Promise<void> {
    await this.run(() => {
      checkName('queue', queue, this.limits);
      const { id, token } = parseReceipt(receipt);
      return this.eval(lua.ACK, this.queueKeys(queue), [id, token]);
    });
  }

  async nack(queue: string, receipt: string, options?: { delayMs?: number }): Promise<void> {
    await this.run(() => {
      checkName('queue', queue, this.limits);
      const { id, token } = parseReceipt(receipt);
      const delay = checkMs('delayMs', options?.delayMs, { fallback: 0 });
      return this.eval(lua.NACK, this.queueKeys(queue), [id, token, delay]);
    });
  }

  async deadLetters(queue: string, options?: { max?: number }): Promise<QueueMessage[]> {
    return this.run(async () => {
      checkName('queue', queue, this.limits);
      const max = checkLimit(DRIVER, options?.max, 100);
      const reply = await this.eval(lua.DEAD_LETTERS, this.queueKeys(queue), [max]);
      return toQueueMessages(reply, (id) => `${id}.dlq`);
    });
  }

  // --- stream_basic -----------------------------------------------------------------------------
  // A group's position is only its committed offset (a small key set by commit()): readGroup
  // always reads after it, so reads are repeatable until committed and a restarted consumer, on
  // any worker, resumes where the group left off. The consumer name does not partition records.

  async append(stream: string, payload: Bytes, headers?: Headers): Promise<{ offset: string }> {
    return this.run(async () => {
      checkName('stream', stream, this.limits);
      checkValue(DRIVER, payload, this.limits);
      const json = JSON.stringify(checkHeaders(headers));
      const offset = await this.client.xadd(this.streamKey(stream), '*', 'p', toBuffer(payload), 'h', json);
      if (offset === null) throw new DriverError(DRIVER, 'Unavailable', 'XADD returned no id');
      return { offset };
    });
  }

  async read(
    stream: string,
    options: { after?: string | null; limit?: number; waitMs?: number },
  ): Promise<StreamRecord[]> {
    return this.run(() => {
      checkName('stream', stream, this.limits);
      const after = options?.after === undefined || options.after === null ? null : checkOffset(options.after);
      const limit = checkLimit(DRIVER, options?.limit, 100);
      const waitMs = checkMs('waitMs', options?.waitMs, { fallback: 0 });
      return this.poll(waitMs, () => this.readAfter(stream, after, limit));
    });
  }

  async readGroup(
    stream: string,
    group: string,
    consumer: string,
    options: { limit?: number; waitMs?: number },
  ): Promise<StreamRecord[]> {
    return this.run(() => {
      checkName('stream', stream, this.limits);
      checkName('group', group, this.limits);
      checkName('consumer', consumer, this.limits);
      const limit = checkLimit(DRIVER, options?.limit, 100);
      const waitMs = checkMs('waitMs', options?.waitMs, { fallback: 0 });
      return this.poll(waitMs, async () => {
        const committed = await this.client.get(this.committedKey(stream, group));
        return this.readAfter(stream, committed, limit);
      });
    });
  }

  async commit(stream: string, group: string, offset: string): Promise<void> {
    await this.run(() => {
      checkName('stream', stream, this.limits);
      checkName('group', group, this.limits);
      return this.client.set(this.committedKey(stream, group), checkOffset(offset));
    });
  }

  async committed(stream: string, group: string): Promise<string | null> {
    return this.run(() => {
      checkName('stream', stream, this.limits);
      checkName('group', group, this.limits);
      return this.client.get(this.committedKey(stream, group));
    });
  }

  // --- ledger_basic -----------------------------------------------------------------------------

  async applyChange(key: string, changeId: string, change: LedgerChange): Promise<LedgerOutcome> {
    return this.run(() => this.ledger.applyChange(key, changeId, change));
  }

  async balance(key: string): Promise<number | null> {
    return this.run(() => this.ledger.balance(key));
  }

  // --- internals --------------------------------------------------------------------------------

  /** Runs one operation, turning every failure into a DriverError where it can be classified. */
  private async run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.closed) throw new DriverError(DRIVER, 'Unavailable', 'the driver is closed');
    try {
      return await operation();
    } catch (err) {
      throw classifyRedisError(err);
    }
  }

  private async eval(script: lua.LuaScript, keys: Buffer[], args: Arg[]): Promise<unknown> {
    try {
      return await this.client.callBuffer('EVALSHA', [script.sha, keys.length, ...keys, ...args]);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return this.client.callBuffer('EVAL', [script.lua, keys.length, ...keys, ...args]);
    }
  }

  /** Calls attempt until it returns something or waitMs has passed, backing off between tries. */
  private async poll<T>(waitMs: number, attempt: () => Promise<T[]>): Promise<T[]> {
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

  private async readAfter(stream: string, after: string | null, limit: number): Promise<StreamRecord[]> {
    const start = after === null ? '-' : `(${after}`;
    return toStreamRecords(await this.client.xrangeBuffer(this.streamKey(stream), start, '+', 'COUNT', limit));
  }

  private subscriberConnection(): Promise<Redis> {
    if (!this.subscriber) {
      const connecting = (async () => {
        const sub = this.client.duplicate();
        sub.on('error', (err: Error) => {
          this.lastError = err.message;
        });
        sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.dispatch(channel, message));
        try {
          await sub.connect();
        } catch (err) {
          sub.disconnect();
          throw err;
        }
        return sub;
      })();
      this.subscriber = connecting;
      connecting.catch(() => {
        if (this.subscriber === connecting) this.subscriber = undefined;
      });
    }
    return this.subscriber;
  }

  private dispatch(channelBytes: Buffer, message: Buffer): void {
    const channel = channelBytes.toString('utf8');
    const handlers = this.handlers.get(channel);
    if (!handlers || handlers.size === 0) return;
    const topic = channel.slice(this.keyPrefix.length);
    const { messageId, headers, payload } = decodeEnvelope(message);
    for (const { handler } of [...handlers]) {
      try {
        handler({ topic, payload: Buffer.from(payload), headers: { ...headers }, messageId });
      } catch (err) {
        process.emitWarning(`redis driver: a subscriber of "${topic}" threw: ${String(err)}`);
      }
    }
  }

  /** Decodes the user keys among SCAN results, skipping the driver's reserved namespace. */
  private userKeys(batch: Buffer[], prefix: string): string[] {
    const at = this.prefix.length;
    const out: string[] = [];
    for (const raw of batch) {
      if (raw.length <= at || raw[at] === RESERVED || !raw.subarray(0, at).equals(this.prefix)) continue;
      const key = raw.subarray(at).toString('utf8');
      if (key.startsWith(prefix)) out.push(key);
    }
    return out;
  }

  private valueKey(key: string): Buffer {
    return Buffer.concat([this.prefix, Buffer.from(key, 'utf8')]);
  }

  private internalKey(kind: string, ...parts: string[]): Buffer {
    const chunks: Buffer[] = [this.prefix, Buffer.from([RESERVED]), Buffer.from(kind, 'utf8')];
    for (const part of parts) chunks.push(Buffer.from([RESERVED]), Buffer.from(part, 'utf8'));
    return Buffer.concat(chunks);
  }

  private versionKey(key: string): Buffer {
    return this.internalKey('v', key);
  }

  private casKeys(key: string): Buffer[] {
    return [this.valueKey(key), this.versionKey(key), this.internalKey('clock')];
  }

  private queueKeys(queue: string): Buffer[] {
    return ['ready', 'invisible', 'payload', 'headers', 'count', 'maxd', 'lease', 'dlq'].map((part) =>
      this.internalKey('q', queue, part),
    );
  }

  private streamKey(stream: string): Buffer {
    return this.internalKey('s', stream);
  }

  private committedKey(stream: string, group: string): Buffer {
    return this.internalKey('c', stream, group);
  }

  private channel(topic: string): string {
    return this.keyPrefix + topic;
  }
}

/** A Buffer view of bytes without copying (ioredis sends Buffers as they are). */
function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
