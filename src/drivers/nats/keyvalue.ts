// keyvalue_basic and keyvalue_scan over one JetStream KV bucket (history 1).
//
// Key encoding. KV keys allow only [-/_=.A-Za-z0-9] with `.` separating subject tokens, so a key
// is stored as encodeToken(key) (see names.ts: [A-Za-z0-9-] kept, every other byte `_XX`) cut into
// tokens of KEY_CHUNK characters, the last token always being `=` + the rest (possibly empty):
//   "user:42"            -> "user_3A42" -> "=user_3A42"
//   "session/abcdefghij" -> "session_2Fabcdefghij" -> "session_2Fabcdef.=ghij"   (KEY_CHUNK 16)
// Encoding is per character, so encode(prefix) is a prefix of encode(key); scan(prefix) lists the
// keys under the subject filter `<full chunks of encode(prefix)>.>` (every key, when the prefix is
// shorter than one chunk), then keeps those whose decoded key starts with the prefix. The filter
// narrows the listing to keys sharing the prefix's first full chunks; the rest is done client side.
//
// A scan lists the matching keys once (an ephemeral headers-only consumer delivering the last
// message per subject, pulled in bulk), sorts them, and keeps the list in this driver instance as
// a snapshot for the following pages: the cursor names the snapshot and the last key returned. A
// page whose snapshot is gone (another instance, or older than SNAPSHOT_TTL_MS) lists again and
// continues after the cursor's key, so no key is returned twice; keys written after the scan
// started may be missed, and keys deleted meanwhile may still be returned, as with Redis SCAN.
import { randomUUID } from 'node:crypto';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { nanos } from './client';
import type { Bytes, KeyValueBasic, KeyValueScan, ScanPage } from '../capabilities';
import { DriverError } from '../errors';
import { checkKey, checkLimit, checkValue, type Limits } from '../limits';
import { DRIVER, guard } from './errors';
import { internalHeader } from './headers';
import type { JetStreamOps } from './jetstream';
import { decodeToken, encodeToken } from './names';

export const KEY_CHUNK = 16;

export function encodeKey(key: string): string {
  const e = encodeToken(key);
  const full = Math.floor(e.length / KEY_CHUNK);
  const tokens: string[] = [];
  for (let i = 0; i < full; i++) tokens.push(e.slice(i * KEY_CHUNK, (i + 1) * KEY_CHUNK));
  tokens.push('=' + e.slice(full * KEY_CHUNK));
  return tokens.join('.');
}

/** The key an encoded key stands for; null for keys this driver did not write. */
export function decodeKey(stored: string): string | null {
  const tokens = stored.split('.');
  const last = tokens[tokens.length - 1];
  if (!last.startsWith('=')) return null;
  const head = tokens.slice(0, -1);
  if (head.some((t) => t.length !== KEY_CHUNK) || last.length > KEY_CHUNK) return null;
  return decodeToken(head.join('') + last.slice(1));
}

/** The subject filter listing every key that starts with prefix (and some that do not). */
export function prefixFilter(prefix: string): string {
  const e = encodeToken(prefix);
  const full = Math.floor(e.length / KEY_CHUNK);
  if (full === 0) return '>';
  const tokens: string[] = [];
  for (let i = 0; i < full; i++) tokens.push(e.slice(i * KEY_CHUNK, (i + 1) * KEY_CHUNK));
  return tokens.join('.') + '.>';
}

/** Scan snapshots kept per driver instance, for how long, and up to how many keys each. */
const SNAPSHOT_TTL_MS = 60_000;
const MAX_SNAPSHOTS = 32;
const MAX_SNAPSHOT_KEYS = 200_000;
/** Keys pulled per request when listing. */
const LIST_BATCH = 10_000;

interface Cursor {
  snapshot: string | null;
  after: string;
}

interface Snapshot {
  prefix: string;
  keys: string[];
  expiresAt: number;
}

function encodeCursor(cursor: Cursor): string {
  return 'c' + Buffer.from(JSON.stringify([cursor.snapshot, cursor.after]), 'utf8').toString('base64url');
}

function decodeCursor(cursor: unknown): Cursor | null {
  if (cursor === undefined || cursor === null) return null;
  const bad = () => new DriverError(DRIVER, 'InvalidArgument', 'not a scan cursor of this driver');
  if (typeof cursor !== 'string' || !cursor.startsWith('c')) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor.slice(1), 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw bad();
  const [snapshot, after] = parsed as unknown[];
  if ((snapshot !== null && typeof snapshot !== 'string') || typeof after !== 'string') throw bad();
  return { snapshot, after };
}

/** First index in sorted `keys` of a key greater than `after`. */
function indexAfter(keys: string[], after: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (keys[mid] <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class NatsKeyValue implements KeyValueBasic, KeyValueScan {
  private bucket: Promise<KV> | undefined;
  private readonly snapshots = new Map<string, Snapshot>();

  constructor(
    private readonly ops: JetStreamOps,
    private readonly bucketName: string,
    private readonly storage: 'file' | 'memory',
    private readonly timeoutMs: number,
    private readonly limits: Limits,
  ) {}

  /** Opens the bucket, creating it when missing (history 1: only the current value is kept). */
  private kv(): Promise<KV> {
    if (!this.bucket) {
      this.bucket = guard(`open bucket ${this.bucketName}`, () =>
        new Kvm(this.ops.js).create(this.bucketName, {
          history: 1,
          storage: this.storage === 'memory' ? 'memory' : 'file',
          replicas: this.ops.replicas,
          timeout: this.timeoutMs,
        }),
      );
      this.bucket.catch(() => (this.bucket = undefined));
    }
    return this.bucket;
  }

  async get(key: string): Promise<Bytes | null> {
    checkKey(DRIVER, key, this.limits);
    const kv = await this.kv();
    const e = await guard('get', () => kv.get(encodeKey(key)));
    if (!e || e.operation !== 'PUT') return null;
    return new Uint8Array(e.value);
  }

  async set(key: string, value: Bytes): Promise<void> {
    checkKey(DRIVER, key, this.limits);
    checkValue(DRIVER, value, this.limits);
    const kv = await this.kv();
    await guard('set', () => kv.put(encodeKey(key), value));
  }

  async delete(key: string): Promise<boolean> {
    checkKey(DRIVER, key, this.limits);
    const kv = await this.kv();
    const k = encodeKey(key);
    const e = await guard('delete', () => kv.get(k));
    if (!e || e.operation !== 'PUT') return false;
    // Only deletes the revision we saw; if the key changed meanwhile, it existed either way.
    await guard('delete', () => kv.delete(k, { previousSeq: e.revision })).catch((err: unknown) => {
      if (!(err instanceof DriverError && err.code === 'Conflict')) throw err;
      return guard('delete', () => kv.delete(k));
    });
    return true;
  }

  async exists(key: string): Promise<boolean> {
    checkKey(DRIVER, key, this.limits);
    const kv = await this.kv();
    const e = await guard('exists', () => kv.get(encodeKey(key)));
    return !!e && e.operation === 'PUT';
  }

  async scan(prefix: string, options?: { cursor?: string | null; limit?: number }): Promise<ScanPage> {
    if (typeof prefix !== 'string') {
      throw new DriverError(DRIVER, 'InvalidArgument', 'prefix must be a string');
    }
    const limit = checkLimit(DRIVER, options?.limit, 100);
    const cursor = decodeCursor(options?.cursor);
    if (Buffer.byteLength(prefix, 'utf8') > this.limits.maxKeyBytes) return { keys: [], cursor: null };
    this.dropExpiredSnapshots();
    let id = cursor?.snapshot ?? null;
    let snapshot = id ? this.snapshots.get(id) : undefined;
    if (!snapshot || snapshot.prefix !== prefix) {
      const keys = await this.listKeys(prefix);
      snapshot = { prefix, keys, expiresAt: 0 };
      id = keys.length <= MAX_SNAPSHOT_KEYS ? randomUUID() : null;
    }
    const start = cursor ? indexAfter(snapshot.keys, cursor.after) : 0;
    const page = snapshot.keys.slice(start, start + limit);
    const more = start + limit < snapshot.keys.length;
    if (id && more) {
      snapshot.expiresAt = Date.now() + SNAPSHOT_TTL_MS;
      this.snapshots.delete(id);
      this.snapshots.set(id, snapshot);
      while (this.snapshots.size > MAX_SNAPSHOTS) {
        const oldest = this.snapshots.keys().next().value as string;
        this.snapshots.delete(oldest);
      }
    } else if (id) {
      this.snapshots.delete(id);
    }
    return { keys: page, cursor: more ? encodeCursor({ snapshot: id, after: page[page.length - 1] }) : null };
  }

  private dropExpiredSnapshots(): void {
    const now = Date.now();
    for (const [id, s] of this.snapshots) if (s.expiresAt < now) this.snapshots.delete(id);
  }

  /** Every live key starting with prefix, sorted. */
  private async listKeys(prefix: string): Promise<string[]> {
    await this.kv();
    const stream = `KV_${this.bucketName}`;
    const subjectPrefix = `$KV.${this.bucketName}.`;
    const info = await this.ops.addConsumer(stream, {
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.LastPerSubject,
      filter_subject: subjectPrefix + prefixFilter(prefix),
      headers_only: true,
      mem_storage: true,
      num_replicas: 1,
      inactive_threshold: nanos(60_000),
    });
    const keys: string[] = [];
    try {
      let left = info.num_pending;
      while (left > 0) {
        const msgs = await this.ops.fetch(stream, info.name, Math.min(left, LIST_BATCH), 0);
        if (msgs.length === 0) break;
        left -= msgs.length;
        for (const m of msgs) {
          const op = internalHeader(m.headers, 'KV-Operation');
          if (op === 'DEL' || op === 'PURGE') continue;
          const key = decodeKey(m.subject.slice(subjectPrefix.length));
          if (key !== null && key.startsWith(prefix)) keys.push(key);
        }
      }
    } finally {
      await this.ops.deleteConsumer(stream, info.name).catch(() => undefined);
    }
    return keys.sort();
  }
}
