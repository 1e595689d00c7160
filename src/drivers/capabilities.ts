// Capability interfaces: what a pattern may ask of a backend. One interface per capability,
// named as configs name them. Keys are strings, values are bytes. Pure types and constants only:
// workflow code imports this module to type its slot proxies.

export const CAPABILITIES = [
  'keyvalue_basic',
  'keyvalue_ttl',
  'keyvalue_scan',
  'keyvalue_batch',
  'keyvalue_cas',
  'pubsub_basic',
  'queue_basic',
  'stream_basic',
  'cdc_source',
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
  setMany(entries: { key: string; value: Bytes }[]): Promise<void>;
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

export interface PubSubMessage {
  topic: string;
  payload: Bytes;
  headers: Headers;
  messageId: string;
}

export interface Subscription {
  unsubscribe(): Promise<void>;
}

export interface PubSubBasic {
  publish(topic: string, payload: Bytes, headers?: Headers): Promise<{ messageId: string }>;
  /** Resolves once the subscription is live: a publish after this is delivered to handler. */
  subscribe(topic: string, handler: (message: PubSubMessage) => void): Promise<Subscription>;
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
}

/** Maps each capability to its operations: the type behind typed slot proxies. */
export interface CapabilityOperations {
  keyvalue_basic: KeyValueBasic;
  keyvalue_ttl: KeyValueTtl;
  keyvalue_scan: KeyValueScan;
  keyvalue_batch: KeyValueBatch;
  keyvalue_cas: KeyValueCas;
  pubsub_basic: PubSubBasic;
  queue_basic: QueueBasic;
  stream_basic: StreamBasic;
  cdc_source: CdcSource;
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
  pubsub_basic: ['publish'],
  queue_basic: ['enqueue', 'receive', 'ack', 'nack', 'deadLetters'],
  stream_basic: ['append', 'read', 'readGroup', 'commit', 'committed'],
  cdc_source: ['ensureCapture', 'readChanges', 'confirm', 'dropCapture'],
} as const satisfies { [C in Capability]: readonly (keyof CapabilityOperations[C])[] };
