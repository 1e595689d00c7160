// One shard of one region, as the session store sees it: read, touch, compare-and-set a session
// record, keep the per-user index, merge a replicated copy in. Used by the client fast path (on a
// BackendHandle, whose every call goes through the backend's guard) and by the replication
// activities (on the driver, already guarded by the activity interceptor, or on a peer backend's
// handle).
//
// A write of the store (write()) is logged: its compare-and-set and its entry in the shard's
// change feed commit together, and the feed is what replication ships. A merged-in copy from
// another region (apply()) is not logged: every region ships its own writes to every other one,
// so logging copies would only echo them back.
import type { LoggedCasResult, Ops } from '../../drivers/capabilities';
import { SESSION_FEED } from '../../workflows/session-store/input';
import {
  decodeRecord,
  encodeRecord,
  mergeRecords,
  sameBytes,
  SESSION_KEY_PREFIX,
  sessionKey,
  userIndexKey,
  userIndexPrefix,
  type SessionRecord,
} from '../../workflows/session-store/logic';

export type SessionShardOps = Ops<'keyvalue_basic' | 'keyvalue_ttl' | 'keyvalue_scan' | 'keyvalue_cas' | 'changefeed'>;

export interface VersionedRecord {
  record: SessionRecord;
  bytes: Uint8Array;
  version: string;
}

/** Seconds until an absolute expiry, at least one millisecond (drivers refuse a TTL of 0). */
function secondsUntil(expiresAt: number, now: number): number {
  return Math.max(0.001, (expiresAt - now) / 1000);
}

/** When a session's user index entry expires: half a window after the record's written expiry. */
function indexExpiry(record: SessionRecord): number {
  return record.expiresAt + (record.ttlSeconds * 1000) / 2;
}

/** Sessions (and bytes) whose last read record peek() keeps, before it starts over. */
const MAX_DECODED = 10_000;
const MAX_DECODED_BYTES = 32 * 1024 * 1024;

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

export class SessionShard {
  /** Per session: the index entry this process last wrote (its user) and the expiry it gave it. */
  private readonly indexedUntil = new Map<string, { userId: string; until: number }>();
  /** The last bytes peek() read per session and their decoded record. */
  private readonly decoded = new Map<string, { bytes: Uint8Array; record: SessionRecord }>();
  private decodedBytes = 0;

  constructor(
    readonly backend: string,
    private readonly driver: SessionShardOps,
  ) {}

  /** The stored record (a tombstone included), or null when absent or expired. */
  async read(sessionId: string): Promise<VersionedRecord | null> {
    const found = await this.driver.getVersioned(sessionKey(sessionId));
    if (!found) return null;
    return { record: decodeRecord(found.value), bytes: found.value, version: found.version };
  }

  /**
   * The stored record without its version (a plain get: the cheapest read), or null. A session
   * read again unchanged is not decoded again: the record is the one decoded from the same bytes
   * before, shared between calls, so callers must not change it (nor hand out parts of it).
   */
  peek(sessionId: string): Promise<SessionRecord | null> {
    // Not an async function: a read is on the fast path.
    return this.driver.get(sessionKey(sessionId)).then((bytes) => this.decodedOnce(sessionId, bytes));
  }

  private decodedOnce(sessionId: string, bytes: Uint8Array | null): SessionRecord | null {
    if (!bytes) {
      this.forget(sessionId);
      return null;
    }
    const last = this.decoded.get(sessionId);
    if (last && equalBytes(last.bytes, bytes)) return last.record;
    const record = decodeRecord(bytes);
    this.decodedBytes += bytes.byteLength - (last?.bytes.byteLength ?? 0);
    if (this.decoded.size >= MAX_DECODED || this.decodedBytes > MAX_DECODED_BYTES) {
      this.decoded.clear();
      this.decodedBytes = bytes.byteLength;
    }
    // A copy: a reply's bytes may be a view of a whole socket read buffer.
    this.decoded.set(sessionId, { bytes: Buffer.from(bytes), record });
    return record;
  }

  private forget(sessionId: string): void {
    const last = this.decoded.get(sessionId);
    if (!last) return;
    this.decodedBytes -= last.bytes.byteLength;
    this.decoded.delete(sessionId);
  }

  /** Pushes the key's expiry without rewriting the record (the cheap half of a sliding TTL). */
  async touch(sessionId: string, ttlSeconds: number): Promise<boolean> {
    return this.driver.expire(sessionKey(sessionId), ttlSeconds);
  }

  /**
   * Writes the record if the stored version is still expectedVersion, logged in the shard's feed;
   * the key expires with it. A conflict returns the stored bytes (current), so the caller can
   * retry without a read.
   */
  write(
    record: SessionRecord,
    expectedVersion: string | null,
    now: number,
    bytes = encodeRecord(record),
  ): Promise<LoggedCasResult> {
    const ttl = secondsUntil(record.expiresAt, now);
    const key = sessionKey(record.sessionId);
    // Not an async function, and no index call when the entry is fresh: a write is on the fast path.
    return this.driver
      .compareAndSetLogged(SESSION_FEED, key, bytes, expectedVersion, ttl)
      .then((result) =>
        result.ok && !this.indexFresh(record) ? this.writeIndex(record, now).then(() => result) : result,
      );
  }

  /** As write(), not logged: for copies merged in from another region or moved between shards. */
  private async store(record: SessionRecord, expectedVersion: string | null, now: number, bytes: Uint8Array) {
    const ttl = secondsUntil(record.expiresAt, now);
    const result = await this.driver.compareAndSet(sessionKey(record.sessionId), bytes, expectedVersion, ttl);
    if (result.ok) await this.writeIndex(record, now);
    return result;
  }

  /**
   * The user index entry outlives the record's written expiry by half a window: reads push the
   * key's TTL without a rewrite until less than half a window is left (see SessionStore).
   */
  async writeIndex(record: SessionRecord, now: number): Promise<void> {
    const { sessionId } = record;
    const { userId } = record.metadata;
    const key = userIndexKey(userId, sessionId);
    if (record.deleted) {
      this.indexedUntil.delete(sessionId);
      await this.driver.delete(key);
      return;
    }
    if (this.indexFresh(record)) return;
    const until = indexExpiry(record);
    await this.driver.setWithTtl(key, new Uint8Array([1]), secondsUntil(until, now));
    if (this.indexedUntil.size >= 10_000) this.indexedUntil.clear();
    this.indexedUntil.set(sessionId, { userId, until });
  }

  /** Written lately by this process to (about) the same expiry: a write can skip the call. */
  private indexFresh(record: SessionRecord): boolean {
    if (record.deleted) return false;
    const written = this.indexedUntil.get(record.sessionId);
    if (written === undefined || written.userId !== record.metadata.userId) return false;
    const until = indexExpiry(record);
    return written.until <= until && until - written.until < (record.ttlSeconds * 1000) / 100;
  }

  /** Removes a session and its index entry from this shard (after it moved to another). */
  async remove(sessionId: string, userId: string): Promise<boolean> {
    await this.deleteIndex(userId, sessionId);
    return this.driver.delete(sessionKey(sessionId));
  }

  async deleteIndex(userId: string, sessionId: string): Promise<void> {
    this.indexedUntil.delete(sessionId);
    await this.driver.delete(userIndexKey(userId, sessionId));
  }

  /**
   * Merges a copy from another region into this shard with compare-and-set, retrying on a
   * concurrent write. Returns whether anything changed; an expired result is not written.
   */
  async apply(incoming: SessionRecord, now: () => number): Promise<{ changed: boolean }> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const current = await this.read(incoming.sessionId);
      const merged = current ? mergeRecords(current.record, incoming) : incoming;
      const bytes = encodeRecord(merged);
      if (current && sameBytes(bytes, current.bytes)) return { changed: false };
      const at = now();
      if (merged.expiresAt <= at) return { changed: false };
      const result = await this.store(merged, current?.version ?? null, at, bytes);
      if (result.ok) return { changed: true };
    }
    throw new Error(`session ${incoming.sessionId}: gave up merging after 50 concurrent writes`);
  }

  /** One page of session ids of a user on this shard (index entries, possibly stale). */
  async scanUser(userId: string, cursor: string | null, limit: number) {
    const prefix = userIndexPrefix(userId);
    const page = await this.driver.scan(prefix, { cursor, limit });
    return { ids: page.keys.map((k) => k.slice(prefix.length)), cursor: page.cursor };
  }

  /** One page of every session id on this shard. */
  async scanAll(cursor: string | null, limit: number) {
    const page = await this.driver.scan(SESSION_KEY_PREFIX, { cursor, limit });
    return { ids: page.keys.map((k) => k.slice(SESSION_KEY_PREFIX.length)), cursor: page.cursor };
  }
}
