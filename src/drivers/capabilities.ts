// Capability interfaces: what a pattern may ask of a backend. One interface per capability,
// named as configs name them. Keys are strings, values are bytes. Pure types and constants only:
// workflow code imports this module to type its slot proxies.

export const CAPABILITIES = [
  'keyvalue_basic',
  'keyvalue_ttl',
  'keyvalue_scan',
  'keyvalue_batch',
  'keyvalue_cas',
  'keyvalue_hash',
  'pubsub_basic',
  'pubsub_batch',
  'queue_basic',
  'stream_basic',
  'cdc_source',
  'cdc_snapshot',
  'outbox_source',
  'ledger_basic',
  'changefeed',
] as const;

export type Capability = (typeof CAPABILITIES)[number];

export function isCapability(name: string): name is Capability {
  return (CAPABILITIES as readonly string[]).includes(name);
}

export type Bytes = Uint8Array;
export type Headers = Record<string, string>;

export interface KeyValueBasic {
  get(key: string): Promise<Bytes | null>;
  set(key: string, value: Bytes): Promise<void>;
  /** Returns whether the key existed. */
  delete(key: string): Promise<boolean>;
  exists(key: string): Promise<boolean>;
}

export interface KeyValueTtl {
  setWithTtl(key: string, value: Bytes, ttlSeconds: number): Promise<void>;
  /** Returns false when the key does not exist. */
  expire(key: string, ttlSeconds: number): Promise<boolean>;
  /** Seconds left (fractional allowed); -1 for a key without expiry; null for a missing key. */
  ttl(key: string): Promise<number | null>;
  /** Removes the expiry; returns false when the key does not exist or had none. */
  persist(key: string): Promise<boolean>;
}

export interface ScanPage {
  keys: string[];
  /** Opaque; null when the scan is complete. */
  cursor: string | null;
}

export interface KeyValueScan {
  /**
   * Keys starting with prefix, a page at a time. Every key present for the whole scan is returned
   * at least once, whatever happens to the server meanwhile: a cursor the server can no longer
   * resume (Redis: a restart or failover since the cursor was issued) starts the iteration again
   * rather than skip keys. A key may therefore come back on a later page (Redis also repeats keys
   * when its table shrinks mid-scan); callers that must not see repeats remove them themselves.
   */
  scan(prefix: string, options?: { cursor?: string | null; limit?: number }): Promise<ScanPage>;
}

export interface KeyValueBatch {
  getMany(keys: string[]): Promise<(Bytes | null)[]>;
  /**
   * Writes every entry in one call. With `ttlSeconds` (drivers that also offer keyvalue_ttl),
   * every entry expires after it, as setWithTtl would; without, none does.
   */
  setMany(entries: { key: string; value: Bytes }[], options?: { ttlSeconds?: number }): Promise<void>;
  /** Returns how many keys existed. */
  deleteMany(keys: string[]): Promise<number>;
}

export interface Versioned {
  value: Bytes;
  version: string;
}

export interface CasResult {
  ok: boolean;
  /** The version now stored (the new one when ok, the current one when not; null if absent). */
  version: string | null;
}

export interface KeyValueCas {
  getVersioned(key: string): Promise<Versioned | null>;
  /**
   * Writes value only when the stored version equals expectedVersion (null: only when absent).
   * ttlSeconds, when given, sets the expiry together with the write.
   */
  compareAndSet(key: string, value: Bytes, expectedVersion: string | null, ttlSeconds?: number): Promise<CasResult>;
}

/** One field of a map written by setFields. */
export interface FieldEntry {
  field: string;
  value: Bytes;
}

/**
 * A map of fields kept under one key (Redis: a hash): many small entries that belong together
 * take one key, so they add one key, not one each, to what scans walk. The key is a key like any
 * other: keyvalue_basic's delete removes the whole map, exists and scan see it, and keyvalue_ttl's
 * ttl, expire and persist act on the whole map. A key holds a value or a map: getFields and
 * setFields on a key that holds a value fail with InvalidArgument (use a key for one or the other).
 * Fields are non-empty strings no longer than a key may be; at most MAX_BATCH_KEYS per call.
 */
export interface KeyValueHash {
  /** The fields' values, in request order: null for a field the map lacks (every field of a missing map). */
  getFields(key: string, fields: string[]): Promise<(Bytes | null)[]>;
  /**
   * Writes the fields in one atomic step, creating the map when missing and keeping its other
   * fields; a field named twice keeps the last value. With `ttlSeconds` (drivers that also offer
   * keyvalue_ttl) the whole key then expires after it; without, the key's expiry stays as it was.
   * Bad input fails the whole call before anything is written.
   */
  setFields(key: string, entries: FieldEntry[], options?: { ttlSeconds?: number }): Promise<void>;
}

export interface PubSubMessage {
  topic: string;
  payload: Bytes;
  headers: Headers;
  messageId: string;
  /** The key the publisher gave (publishBatch); absent when it gave none. */
  key?: string;
}

export interface Subscription {
  unsubscribe(): Promise<void>;
}

export interface PubSubBasic {
  publish(topic: string, payload: Bytes, headers?: Headers): Promise<{ messageId: string }>;
  /** Resolves once the subscription is live: a publish after this is delivered to handler. */
  subscribe(topic: string, handler: (message: PubSubMessage) => void): Promise<Subscription>;
}

/** One message of publishBatch. */
export interface BatchMessage {
  topic: string;
  /** Per-key routing where the backend has it (the Kafka record key); subscribers see it as `key`. */
  key?: string;
  value: Bytes;
  headers?: Headers;
  /**
   * The message's own id, for a message that has one that is unique and the same each time it is
   * published again (a CDC event id): the driver uses it as the message id instead of making one
   * (publishBatch returns it, subscribers see it as messageId, JetStream drops a repeat of a NATS
   * message within its duplicate window), so the message needs no second header naming it.
   */
  id?: string;
}

export interface PubSubBatch {
  /**
   * Publishes every message, in order per topic, and resolves once the backend accepted all of
   * them; otherwise the call fails (some may have been accepted: a retry can repeat them). Bad
   * input (a value over the limit, a bad topic) fails the whole call before anything is sent.
   * Returns each message's id, in input order.
   */
  publishBatch(messages: BatchMessage[]): Promise<{ messageIds: string[] }>;
}

export interface QueueMessage {
  messageId: string;
  payload: Bytes;
  headers: Headers;
  /** How many times this message has been handed out, this delivery included. */
  deliveryCount: number;
  /** Pass to ack/nack; valid until the visibility timeout runs out. */
  receipt: string;
}

export interface QueueOptions {
  /**
   * After this many deliveries without an ack, a message moves to the dead-letter queue: an integer
   * from 1 to 1,000,000, default 5 for every driver (DEFAULT_MAX_DELIVERIES in drivers/limits).
   */
  maxDeliveries?: number;
}

export interface QueueBasic {
  enqueue(queue: string, payload: Bytes, headers?: Headers): Promise<{ messageId: string }>;
  receive(
    queue: string,
    options: { max?: number; visibilityTimeoutMs: number; waitMs?: number } & QueueOptions,
  ): Promise<QueueMessage[]>;
  ack(queue: string, receipt: string): Promise<void>;
  /** Makes the message visible again after delayMs (default 0). */
  nack(queue: string, receipt: string, options?: { delayMs?: number }): Promise<void>;
  /** Messages moved to the dead-letter queue, oldest first. */
  deadLetters(queue: string, options?: { max?: number }): Promise<QueueMessage[]>;
}

export interface StreamRecord {
  /** Opaque offset, comparable only through the driver; pass it back to read after it. */
  offset: string;
  payload: Bytes;
  headers: Headers;
}

export interface StreamBasic {
  append(stream: string, payload: Bytes, headers?: Headers): Promise<{ offset: string }>;
  /** Records after `after` (null: from the start), at most limit. */
  read(stream: string, options: { after?: string | null; limit?: number; waitMs?: number }): Promise<StreamRecord[]>;
  /** Next records for a consumer group, starting after its committed offset. */
  readGroup(
    stream: string,
    group: string,
    consumer: string,
    options: { limit?: number; waitMs?: number },
  ): Promise<StreamRecord[]>;
  /** Commits the group's position: every record up to and including offset is done. */
  commit(stream: string, group: string, offset: string): Promise<void>;
  committed(stream: string, group: string): Promise<string | null>;
}

/** c insert, u update, d delete, r snapshot read, t truncate (one per table; no row: before, after and key empty). */
export type ChangeOp = 'c' | 'u' | 'd' | 'r' | 't';

export interface RowChange {
  op: ChangeOp;
  schema: string;
  table: string;
  /** Position of the change's commit, as text (Postgres LSN, e.g. "0/16B3748"). */
  lsn: string;
  txId: number | null;
  /** Position of this change within its transaction. */
  sequence: number;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  key: Record<string, unknown>;
  commitTime: string;
}

export interface CdcSource {
  /** Creates the replication slot and publication when missing; reuses them otherwise. */
  ensureCapture(options: { slot: string; publication: string; tables: string[] }): Promise<void>;
  /** Committed changes after the confirmed position, at most limit, waiting up to waitMs for some. */
  readChanges(options: { slot: string; publication: string; limit?: number; waitMs?: number }): Promise<{
    changes: RowChange[];
    /** The position to confirm once every change returned has been delivered. */
    lastLsn: string | null;
  }>;
  /** Tells the source that everything up to lsn is delivered: the WAL before it may be freed. */
  confirm(options: { slot: string; lsn: string }): Promise<void>;
  dropCapture(options: { slot: string; publication: string }): Promise<void>;
  /** The source's database and how far the slot's confirmed position is behind it. */
  captureStatus(options: { slot: string }): Promise<CaptureStatus>;
  /**
   * Streams the slot's changes as they commit, from the slot's confirmed position on (Postgres:
   * START_REPLICATION over a replication connection, no polling). Resolves once the stream runs.
   * Not an activity: the stream lives in one process (like subscribe), so the caller must run
   * under the backend's guard (the CDC pump activity does).
   */
  streamChanges(options: { slot: string; publication: string }): Promise<CdcChangeStream>;
}

/** What a change stream hands over at once: changes in commit order and the position they reach. */
export interface CdcStreamBatch {
  changes: RowChange[];
  /**
   * The end of the last whole transaction (or source heartbeat) this batch completes: confirm it
   * once every change up to here is delivered. null when the batch ends inside a transaction.
   */
  position: string | null;
  /** The batch ends at `position`: no change of an unfinished transaction follows it. */
  complete: boolean;
}

export interface CdcChangeStream {
  /**
   * The changes received and not yet taken, at most `limit` (whole transactions where they fit);
   * waits until there is something (a change or a new position) or `signal` aborts, then returns at
   * once: changes are never held back to fill a batch. An aborted wait returns an empty batch.
   */
  next(options: { limit: number; signal?: AbortSignal }): Promise<CdcStreamBatch>;
  /**
   * Everything up to position is delivered: the source may free it (Postgres: a standby status
   * update with this flush position). Positions before the last confirmed one are ignored.
   */
  confirm(position: string): void;
  /** The last position confirmed to the source (the slot's own at the start). */
  readonly confirmed: string | null;
  /** Rejects once the stream broke (connection lost, slot dropped); never resolves otherwise. */
  readonly failed: Promise<never>;
  /** Sends the last confirmed position and ends the stream. */
  close(): Promise<void>;
}

export interface CaptureStatus {
  /** The database the changes come from (events carry it as source.db). */
  database: string;
  /** Bytes of change history the source still holds for the slot (not confirmed); null when the slot is missing. */
  lagBytes: number | null;
}

/** An initial snapshot as the source keeps it (staged: rows after deliveredUpTo remain to deliver). */
export interface SnapshotInfo {
  state: 'staged' | 'done';
  /** The slot's consistent point: streaming starts after it. */
  lsn: string | null;
  rows: number;
  /** Rows 1..deliveredUpTo are delivered. */
  deliveredUpTo: number;
}

/** Where a snapshot's bookkeeping lives: `schema` (default: the driver's own schema). */
export interface SnapshotScope {
  slot: string;
  schema?: string;
}

export interface CdcSnapshot {
  /**
   * ensureCapture, and when the slot is new (or an earlier attempt's copy did not finish): the
   * slot made again with a consistent snapshot whose rows are staged as of its start. null when
   * the slot already streamed without a snapshot (its position is kept).
   */
  prepareSnapshot(options: SnapshotScope & { publication: string; tables: string[] }): Promise<SnapshotInfo | null>;
  /** Up to limit staged rows after row `after`, as 'r' changes; records rows up to `after` as delivered. */
  readSnapshot(options: SnapshotScope & { after: number; limit: number }): Promise<RowChange[]>;
  /** Every staged row is delivered: they go, the snapshot is kept as done. */
  finishSnapshot(options: SnapshotScope): Promise<void>;
  forgetSnapshot(options: SnapshotScope): Promise<void>;
}

/** A row's place in outbox order: created_at exactly as the source prints it, then id. */
export interface OutboxPosition {
  createdAt: string;
  id: string;
}

/** First and last row of a polled batch, in outbox order. */
export interface OutboxRange {
  from: OutboxPosition;
  to: OutboxPosition;
}

/** An unpublished outbox row. */
export interface OutboxEntry {
  id: string;
  aggregateType: string;
  aggregateId: string;
  eventType: string;
  payload: unknown;
  /** ISO time. */
  createdAt: string;
  position: OutboxPosition;
}

export interface OutboxLag {
  /** Rows not yet marked published. */
  unpublished: number;
  /** created_at of the oldest of them (ISO); null when there are none. */
  oldestUnpublishedAt: string | null;
}

/**
 * A transactional outbox table (id, aggregate_type, aggregate_id, event_type, payload,
 * created_at, published_at), read oldest first and marked published after delivery.
 */
export interface OutboxSource {
  /** Fails with NotFound (no such table) or InvalidArgument (naming the missing columns). */
  checkOutbox(options: { table: string }): Promise<void>;
  /** Up to limit unpublished rows, oldest first, leaving out the rows inside the skip ranges. */
  pollOutbox(options: { table: string; limit: number; skip?: OutboxRange[] }): Promise<OutboxEntry[]>;
  /** Marks the rows published; returns how many were not already. */
  markPublished(options: { table: string; ids: string[] }): Promise<number>;
  outboxLag(options: { table: string }): Promise<OutboxLag>;
}

/** Why a ledger change was not applied. */
export type LedgerRefusal =
  /** This change id was applied to the key before (and is still remembered): nothing changed. */
  | 'duplicate'
  /** The result would go below the floor. */
  | 'insufficient'
  /** The key has no counter and the change names no initial value. */
  | 'missing'
  /** The change named in onlyAfter was never applied to the key (or is no longer remembered). */
  | 'not_after';

export interface LedgerChange {
  /** Added to the counter (negative to take away); a safe integer. */
  delta: number;
  /** The counter's value before this change when the key has none yet; without it such a change is refused. */
  initial?: number;
  /** The counter must not go below this: a change that would is refused ('insufficient') and not remembered. */
  floor?: number;
  /** Apply only if this change id was applied to the same key (an undo of a change that never happened does nothing). */
  onlyAfter?: string;
  /** How long the change id is remembered (a positive number of ms): a repeat within it applies nothing. */
  retentionMs: number;
}

export interface LedgerOutcome {
  /** The counter after this call (null when the key has no counter). */
  now: number | null;
  applied: boolean;
  /** Set exactly when applied is false. */
  reason?: LedgerRefusal;
}

export interface LedgerBasic {
  /**
   * Applies change to the counter at key at most once per changeId for retentionMs: checking the
   * change id, the floor and onlyAfter, moving the counter and remembering the id are one atomic
   * step. Costs O(1) in the key's history; concurrent changes of one key do not retry each other.
   */
  applyChange(key: string, changeId: string, change: LedgerChange): Promise<LedgerOutcome>;
  /** The counter's value, or null when the key has none. */
  balance(key: string): Promise<number | null>;
}

/** One write as its change feed recorded it. */
export interface FeedEntry {
  /** Opaque, increasing within the feed; pass it back as `after` to read on from it. */
  offset: string;
  key: string;
  /** The value the write stored. */
  value: Bytes;
}

export interface FeedPage {
  /** Entries after `after`, oldest first. */
  entries: FeedEntry[];
  /**
   * True when entries after `after` were trimmed away before the reader got them: the reader has
   * missed writes and must catch up some other way (e.g. a scan of the keys).
   */
  gap: boolean;
}

export interface LoggedCasResult extends CasResult {
  /** The feed entry of the write (when ok). */
  offset: string | null;
  /** When not ok: the stored value (null when absent), so a caller can retry without a read. */
  current: Bytes | null;
}

/**
 * Writes whose record in a per-backend feed commits atomically with them: a write is in the feed
 * exactly when it is stored, so a reader that follows the feed from a checkpoint misses none
 * (unless the feed was trimmed past its checkpoint, which it is told). A feed is named; readers
 * keep their checkpoint in it, and trimming never passes a reader's checkpoint except by
 * `maxEntries`.
 */
export interface ChangeFeed {
  /**
   * compareAndSet (as keyvalue_cas: the version, the TTL) whose success also appends
   * `{ key, value }` to `feed`, in one atomic step. A conflict returns the stored value too.
   */
  compareAndSetLogged(
    feed: string,
    key: string,
    value: Bytes,
    expectedVersion: string | null,
    ttlSeconds?: number,
  ): Promise<LoggedCasResult>;
  /** Up to limit entries after `after` (null: from the oldest kept), waiting up to waitMs for one. */
  readFeed(feed: string, options: { after: string | null; limit?: number; waitMs?: number }): Promise<FeedPage>;
  /** The newest entry's offset (null for an empty feed): reading after it returns only later writes. */
  feedHead(feed: string): Promise<string | null>;
  /** Records that `reader` has everything up to and including offset (never moves back). */
  commitFeed(feed: string, reader: string, offset: string): Promise<void>;
  /**
   * Removes the entries every reader has committed, and beyond them the oldest entries past
   * maxEntries (a reader that far behind then sees a gap). Returns how many were removed.
   */
  trimFeed(feed: string, options: { maxEntries: number }): Promise<number>;
}

/** Maps each capability to its operations: the type behind typed slot proxies. */
export interface CapabilityOperations {
  keyvalue_basic: KeyValueBasic;
  keyvalue_ttl: KeyValueTtl;
  keyvalue_scan: KeyValueScan;
  keyvalue_batch: KeyValueBatch;
  keyvalue_cas: KeyValueCas;
  keyvalue_hash: KeyValueHash;
  pubsub_basic: PubSubBasic;
  pubsub_batch: PubSubBatch;
  queue_basic: QueueBasic;
  stream_basic: StreamBasic;
  cdc_source: CdcSource;
  cdc_snapshot: CdcSnapshot;
  outbox_source: OutboxSource;
  ledger_basic: LedgerBasic;
  changefeed: ChangeFeed;
}

/** The operations of a set of capabilities, e.g. Ops<'keyvalue_basic' | 'keyvalue_scan'>. */
export type Ops<C extends Capability> = UnionToIntersection<CapabilityOperations[C]>;

type UnionToIntersection<U> = (U extends unknown ? (arg: U) => void : never) extends (arg: infer I) => void ? I : never;

/** Operation names per capability; the activity layer registers one activity per entry. */
export const CAPABILITY_OPERATIONS = {
  keyvalue_basic: ['get', 'set', 'delete', 'exists'],
  keyvalue_ttl: ['setWithTtl', 'expire', 'ttl', 'persist'],
  keyvalue_scan: ['scan'],
  keyvalue_batch: ['getMany', 'setMany', 'deleteMany'],
  keyvalue_cas: ['getVersioned', 'compareAndSet'],
  keyvalue_hash: ['getFields', 'setFields'],
  pubsub_basic: ['publish'],
  pubsub_batch: ['publishBatch'],
  queue_basic: ['enqueue', 'receive', 'ack', 'nack', 'deadLetters'],
  stream_basic: ['append', 'read', 'readGroup', 'commit', 'committed'],
  cdc_source: ['ensureCapture', 'readChanges', 'confirm', 'dropCapture', 'captureStatus'],
  cdc_snapshot: ['prepareSnapshot', 'readSnapshot', 'finishSnapshot', 'forgetSnapshot'],
  outbox_source: ['checkOutbox', 'pollOutbox', 'markPublished', 'outboxLag'],
  ledger_basic: ['applyChange', 'balance'],
  changefeed: ['compareAndSetLogged', 'readFeed', 'feedHead', 'commitFeed', 'trimFeed'],
} as const satisfies { [C in Capability]: readonly (keyof CapabilityOperations[C])[] };
