// The session store's pure logic: the stored form of a session and how two copies of it merge,
// shared by the client fast path, the replication activities and tests.
//
// Multi-primary replication is last-writer-wins per data key (and for the metadata), ordered by
// (timestamp, region). merge() is commutative, associative and idempotent, so replicas that apply
// the same writes in any order, any number of times, end up byte-for-byte equal.
import { decodeBase64, encodeBase64, utf8 } from '../../common/base64';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type SessionValue = Uint8Array | JsonValue;

/** When and where a write happened; the later stamp wins, the region name breaks ties. */
export interface Stamp {
  /** Milliseconds since the epoch. */
  ts: number;
  region: string;
}

export interface SessionMetadata {
  userId: string;
  region: string;
  clientId: string;
  attributes: Record<string, string>;
}

/** A data value as stored: bytes as base64, anything else as JSON; null marks a deleted key. */
export type StoredValue = { b: string } | { j: JsonValue };

export interface StoredEntry {
  value: StoredValue | null;
  stamp: Stamp;
}

export interface SessionRecord {
  sessionId: string;
  metadata: SessionMetadata;
  metaStamp: Stamp;
  createdAt: number;
  /** The sliding window: every access pushes expiry to at least now + ttlSeconds. */
  ttlSeconds: number;
  /** Expiry as last written (reads push the key's TTL without rewriting the record). */
  expiresAt: number;
  lastAccessed: number;
  /** When the record last changed in any way (ms): replication lag is measured from it. */
  writtenAt: number;
  data: Record<string, StoredEntry>;
  /** Set once the session is deleted: the record stays as a tombstone until it expires. */
  deleted: Stamp | null;
}

export function compareStamps(a: Stamp, b: Stamp): number {
  if (a.ts !== b.ts) return a.ts < b.ts ? -1 : 1;
  return a.region < b.region ? -1 : a.region > b.region ? 1 : 0;
}

function later(a: Stamp, b: Stamp): Stamp {
  return compareStamps(a, b) >= 0 ? a : b;
}

function laterOrNull(a: Stamp | null, b: Stamp | null): Stamp | null {
  if (a === null) return b;
  if (b === null) return a;
  return later(a, b);
}

/**
 * A record's own entry (or value) under key, never one inherited from Object.prototype: a data key
 * may be named "toString" or "constructor", and a copy without it must read as not having it.
 */
export function own<T>(entries: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(entries, key) ? entries[key] : undefined;
}

/** The join of two copies of one session. */
export function mergeRecords(a: SessionRecord, b: SessionRecord): SessionRecord {
  const metaFromA = compareStamps(a.metaStamp, b.metaStamp) >= 0;
  const deleted = laterOrNull(a.deleted, b.deleted);
  const data: Record<string, StoredEntry> = {};
  if (deleted === null) {
    for (const key of [...new Set([...Object.keys(a.data), ...Object.keys(b.data)])].sort()) {
      const x = own(a.data, key);
      const y = own(b.data, key);
      // Each key is an own key of a or of b, so one of them has it.
      data[key] = x === undefined ? y! : y === undefined ? x : compareStamps(x.stamp, y.stamp) >= 0 ? x : y;
    }
  }
  return {
    sessionId: a.sessionId,
    metadata: metaFromA ? a.metadata : b.metadata,
    metaStamp: metaFromA ? a.metaStamp : b.metaStamp,
    createdAt: Math.min(a.createdAt, b.createdAt),
    ttlSeconds: metaFromA ? a.ttlSeconds : b.ttlSeconds,
    expiresAt: Math.max(a.expiresAt, b.expiresAt),
    lastAccessed: Math.max(a.lastAccessed, b.lastAccessed),
    writtenAt: Math.max(a.writtenAt, b.writtenAt),
    data,
    deleted,
  };
}

/** The newest write the record holds: what replication lag is measured from. */
export function latestStamp(record: SessionRecord): Stamp {
  let best = record.metaStamp;
  for (const entry of Object.values(record.data)) best = later(best, entry.stamp);
  return record.deleted ? later(best, record.deleted) : best;
}

/** A stamp for a new write to the record: now, but never at or before a stamp already in it. */
export function nextStamp(record: SessionRecord | null, now: number, region: string): Stamp {
  const floor = record ? latestStamp(record).ts + 1 : 0;
  return { ts: Math.max(now, floor), region };
}

export function encodeValue(value: SessionValue): StoredValue {
  return value instanceof Uint8Array ? { b: encodeBase64(value) } : { j: value };
}

export function decodeValue(stored: StoredValue): SessionValue {
  return 'b' in stored ? decodeBase64(stored.b) : stored.j;
}

/** Canonical bytes: keys in a fixed order, so equal records serialise equally. */
export function encodeRecord(record: SessionRecord): Uint8Array {
  return utf8.encode(recordText(record));
}

/** encodeRecord's text (where Buffer is at hand, Buffer.from(text) encodes it faster). */
export function recordText(record: SessionRecord): string {
  return JSON.stringify({
    sessionId: record.sessionId,
    metadata: record.metadata,
    metaStamp: record.metaStamp,
    createdAt: record.createdAt,
    ttlSeconds: record.ttlSeconds,
    expiresAt: record.expiresAt,
    lastAccessed: record.lastAccessed,
    writtenAt: record.writtenAt,
    data: sortedData(record.data),
    deleted: record.deleted,
  });
}

/** The data entries in key order (the same object when they already are, as decoded ones are). */
function sortedData(data: Record<string, StoredEntry>): Record<string, StoredEntry> {
  const keys = Object.keys(data);
  let sorted = true;
  for (let i = 1; i < keys.length && sorted; i++) sorted = keys[i - 1] < keys[i];
  if (sorted) return data;
  const out: Record<string, StoredEntry> = {};
  for (const key of keys.sort()) out[key] = data[key];
  return out;
}

export function decodeRecord(bytes: Uint8Array): SessionRecord {
  return JSON.parse(utf8.decode(bytes)) as SessionRecord;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Key layout on a shard. */
export const sessionKey = (sessionId: string): string => `sess:${sessionId}`;
// The user id is escaped so that one user's prefix is never a prefix of another's ("a" vs "a:b").
export const userIndexPrefix = (userId: string): string => `sidx:${encodeURIComponent(userId)}:`;
export const userIndexKey = (userId: string, sessionId: string): string => `${userIndexPrefix(userId)}${sessionId}`;
export const SESSION_KEY_PREFIX = 'sess:';
