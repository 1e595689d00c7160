// The in-process driver's implementation: a key-value store with real expiry, an ordered key
// index for cursor scans, versioned writes for CAS, topic fan-out and queues with visibility
// timeouts and dead letters. Everything is copied in and out, so callers never share buffers
// with the store.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type {
  BatchMessage,
  Bytes,
  Capability,
  CasResult,
  Headers,
  KeyValueBasic,
  KeyValueBatch,
  KeyValueCas,
  KeyValueScan,
  KeyValueTtl,
  PubSubBasic,
  PubSubBatch,
  PubSubMessage,
  QueueBasic,
  QueueMessage,
  QueueOptions,
  ScanPage,
  Subscription,
  Versioned,
  LedgerBasic,
  LedgerChange,
  LedgerOutcome,
} from '../capabilities';
import type { DriverBase, DriverHealth } from '../driver';
import { DriverError } from '../errors';
import {
  checkBatch,
  checkHeaders as checkHeadersOf,
  checkKey,
  checkKeyList as checkKeyListOf,
  checkLimit,
  checkMaxDeliveries as checkMaxDeliveriesOf,
  checkMs as checkMsOf,
  checkName as checkNameOf,
  DEFAULT_MAX_DELIVERIES,
  checkTtl,
  checkValue,
  type Limits,
} from '../limits';
import type { DriverContext } from '../registry';
import { checkBatchMessages } from '../pubsub-batch';
import { MemoryLedger } from './ledger';
import { MEMORY_CAPABILITIES, type MemoryConfig } from './config';

const DRIVER = 'memory';
const DEFAULT_SCAN_LIMIT = 100;
const SWEEP_INTERVAL_MS = 1_000;
const CURSOR_TAG = 'm1:';

/** Monotonic milliseconds (fractional): expiry must not jump with the wall clock. */
const now = (): number => performance.now();

const copy = (bytes: Uint8Array): Uint8Array => new Uint8Array(bytes);

function invalid(message: string): DriverError {
  return new DriverError(DRIVER, 'InvalidArgument', message);
}

const checkName = (kind: string, name: unknown, limits: Limits): string => checkNameOf(DRIVER, kind, name, limits);
const checkHeaders = (headers: unknown): Headers => checkHeadersOf(DRIVER, headers);

const checkMs = (name: string, value: unknown, options: { min?: number; fallback?: number }): number =>
  checkMsOf(DRIVER, name, value, options);
const checkMaxDeliveries = (value: unknown): number => checkMaxDeliveriesOf(DRIVER, value);
const checkKeyList = (keys: unknown, limits: Limits): string[] => checkKeyListOf(DRIVER, keys, limits);

/** Keys in code-unit order, for scans that resume after the last key returned. */
class SortedKeys {
  private readonly keys: string[] = [];

  /** First index whose key is >= key (or > key when strict). */
  bound(key: string, strict = false): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const k = this.keys[mid];
      if (k < key || (strict && k === key)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  at(index: number): string | undefined {
    return this.keys[index];
  }

  insert(key: string): void {
    const i = this.bound(key);
    if (this.keys[i] !== key) this.keys.splice(i, 0, key);
  }

  remove(key: string): void {
    const i = this.bound(key);
    if (this.keys[i] === key) this.keys.splice(i, 1);
  }

  clear(): void {
    this.keys.length = 0;
  }
}

interface Entry {
  value: Uint8Array;
  /** Monotonic ms; null: no expiry. */
  expiresAt: number | null;
  version: number;
}

interface StoredMessage {
  id: string;
  payload: Uint8Array;
  headers: Headers;
  deliveryCount: number;
  /** The limit given by the receive that last handed it out. */
  maxDeliveries: number;
  /** The delivery a receipt must name to ack or nack; null when not leased. */
  lease: number | null;
  /** Monotonic ms when invisible (in flight or nacked with a delay); null when ready or dead. */
  visibleAt: number | null;
}

interface MemoryQueue {
  messages: Map<string, StoredMessage>;
  ready: string[];
  invisible: Set<string>;
  dead: string[];
  waiters: Set<() => void>;
}

interface HandlerEntry {
  handler: (message: PubSubMessage) => void;
}

function parseReceipt(receipt: unknown): { id: string; token: string } {
  if (typeof receipt !== 'string') throw invalid('receipt must be a string');
  const dot = receipt.lastIndexOf('.');
  if (dot <= 0 || dot === receipt.length - 1) throw invalid('malformed receipt');
  return { id: receipt.slice(0, dot), token: receipt.slice(dot + 1) };
}

export class MemoryDriver
  implements
    DriverBase,
    KeyValueBasic,
    KeyValueTtl,
    KeyValueScan,
    KeyValueBatch,
    KeyValueCas,
    PubSubBasic,
    PubSubBatch,
    QueueBasic,
    LedgerBasic
{
  readonly driverName = DRIVER;
  readonly capabilities: ReadonlySet<Capability> = new Set(MEMORY_CAPABILITIES);

  private readonly limits: Limits;
  private readonly entries = new Map<string, Entry>();
  private readonly order = new SortedKeys();
  /** Keys that have an expiry, so the sweeper does not walk the whole store. */
  private readonly expiring = new Set<string>();
  private readonly topics = new Map<string, Set<HandlerEntry>>();
  private readonly queues = new Map<string, MemoryQueue>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly ledger: MemoryLedger;
  private clock = 0;
  private closed = false;

  constructor(config: MemoryConfig, _context: DriverContext) {
    this.limits = { ...config.limits };
    this.ledger = new MemoryLedger(this.limits);
    // Expiry is enforced on every access; the sweeper only frees memory of keys nobody reads.
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  async health(): Promise<DriverHealth> {
    return this.closed ? { healthy: false, detail: 'closed' } : { healthy: true };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    this.entries.clear();
    this.order.clear();
    this.expiring.clear();
    this.topics.clear();
    for (const queue of this.queues.values()) this.wake(queue);
    this.queues.clear();
    this.ledger.clear();
  }

  // --- keyvalue_basic ---------------------------------------------------------------------------

  async get(key: string): Promise<Bytes | null> {
    this.open();
    const entry = this.live(checkKey(DRIVER, key, this.limits));
    return entry ? copy(entry.value) : null;
  }

  async set(key: string, value: Bytes): Promise<void> {
    this.open();
    checkKey(DRIVER, key, this.limits);
    checkValue(DRIVER, value, this.limits);
    this.write(key, value, null);
  }

  async delete(key: string): Promise<boolean> {
    this.open();
    checkKey(DRIVER, key, this.limits);
    if (!this.live(key)) return false;
    this.drop(key);
    return true;
  }

  async exists(key: string): Promise<boolean> {
    this.open();
    return this.live(checkKey(DRIVER, key, this.limits)) !== undefined;
  }

  // --- keyvalue_ttl -----------------------------------------------------------------------------

  async setWithTtl(key: string, value: Bytes, ttlSeconds: number): Promise<void> {
    this.open();
    checkKey(DRIVER, key, this.limits);
    checkValue(DRIVER, value, this.limits);
    checkTtl(DRIVER, ttlSeconds);
    this.write(key, value, now() + ttlSeconds * 1000);
  }

  async expire(key: string, ttlSeconds: number): Promise<boolean> {
    this.open();
    checkKey(DRIVER, key, this.limits);
    checkTtl(DRIVER, ttlSeconds);
    const entry = this.live(key);
    if (!entry) return false;
    entry.expiresAt = now() + ttlSeconds * 1000;
    this.expiring.add(key);
    return true;
  }

  async ttl(key: string): Promise<number | null> {
    this.open();
    const entry = this.live(checkKey(DRIVER, key, this.limits));
    if (!entry) return null;
    if (entry.expiresAt === null) return -1;
    return Math.max(0, (entry.expiresAt - now()) / 1000);
  }

  async persist(key: string): Promise<boolean> {
    this.open();
    const entry = this.live(checkKey(DRIVER, key, this.limits));
    if (!entry || entry.expiresAt === null) return false;
    entry.expiresAt = null;
    this.expiring.delete(key);
    return true;
  }

  // --- keyvalue_scan ----------------------------------------------------------------------------

  /**
   * Keys in code-unit order. The cursor is the last key returned, so a scan resumes strictly after
   * it: no key is returned twice, and every key present for the whole scan is returned.
   */
  async scan(prefix: string, options?: { cursor?: string | null; limit?: number }): Promise<ScanPage> {
    this.open();
    if (typeof prefix !== 'string') throw invalid('prefix must be a string');
    const limit = checkLimit(DRIVER, options?.limit, DEFAULT_SCAN_LIMIT);
    const after = decodeCursor(options?.cursor);
    let index = after !== null && after >= prefix ? this.order.bound(after, true) : this.order.bound(prefix);
    const keys: string[] = [];
    const expired: string[] = [];
    const t = now();
    for (let key = this.order.at(index); key !== undefined && key.startsWith(prefix); key = this.order.at(++index)) {
      if (keys.length === limit) {
        for (const k of expired) this.drop(k);
        return { keys, cursor: encodeCursor(keys[keys.length - 1]) };
      }
      const entry = this.entries.get(key);
      if (entry && entry.expiresAt !== null && entry.expiresAt <= t) expired.push(key);
      else keys.push(key);
    }
    for (const k of expired) this.drop(k);
    return { keys, cursor: null };
  }

  // --- keyvalue_batch ---------------------------------------------------------------------------

  async getMany(keys: string[]): Promise<(Bytes | null)[]> {
    this.open();
    return checkKeyList(keys, this.limits).map((key) => {
      const entry = this.live(key);
      return entry ? copy(entry.value) : null;
    });
  }

  async setMany(entries: { key: string; value: Bytes }[]): Promise<void> {
    this.open();
    checkBatch(DRIVER, 'entries', entries);
    // Validate everything before writing anything.
    for (const entry of entries) {
      if (entry === null || typeof entry !== 'object') throw invalid('each entry must be { key, value }');
      checkKey(DRIVER, entry.key, this.limits);
      checkValue(DRIVER, entry.value, this.limits);
    }
    for (const { key, value } of entries) this.write(key, value, null);
  }

  async deleteMany(keys: string[]): Promise<number> {
    this.open();
    let existed = 0;
    for (const key of checkKeyList(keys, this.limits)) {
      if (this.live(key)) {
        this.drop(key);
        existed += 1;
      }
    }
    return existed;
  }

  // --- keyvalue_cas -----------------------------------------------------------------------------
  // Versions come from one counter per driver instance, bumped by every write (set included), so
  // a version is never reused, even after a delete and re-create.

  async getVersioned(key: string): Promise<Versioned | null> {
    this.open();
    const entry = this.live(checkKey(DRIVER, key, this.limits));
    return entry ? { value: copy(entry.value), version: String(entry.version) } : null;
  }

  async compareAndSet(
    key: string,
    value: Bytes,
    expectedVersion: string | null,
    ttlSeconds?: number,
  ): Promise<CasResult> {
    this.open();
    checkKey(DRIVER, key, this.limits);
    checkValue(DRIVER, value, this.limits);
    if (expectedVersion !== null && typeof expectedVersion !== 'string') {
      throw invalid('expectedVersion must be a string or null');
    }
    if (ttlSeconds !== undefined) checkTtl(DRIVER, ttlSeconds);
    const entry = this.live(key);
    const current = entry ? String(entry.version) : null;
    if (current !== expectedVersion) return { ok: false, version: current };
    const written = this.write(key, value, ttlSeconds === undefined ? null : now() + ttlSeconds * 1000);
    return { ok: true, version: String(written.version) };
  }

  // --- pubsub_basic -----------------------------------------------------------------------------

  async publish(topic: string, payload: Bytes, headers?: Headers): Promise<{ messageId: string }> {
    this.open();
    checkName('topic', topic, this.limits);
    checkValue(DRIVER, payload, this.limits);
    return { messageId: this.fanOut(topic, undefined, payload, checkHeaders(headers)) };
  }

  /** Checked as a whole first, then fanned out in batch order. */
  async publishBatch(messages: BatchMessage[]): Promise<{ messageIds: string[] }> {
    this.open();
    const checked = checkBatchMessages(DRIVER, messages, {
      limits: this.limits,
      checkTopic: (topic) => checkName('topic', topic, this.limits),
      checkHeaders,
    });
    return { messageIds: checked.map((m) => this.fanOut(m.topic, m.key, m.value, m.headers)) };
  }

  private fanOut(topic: string, key: string | undefined, payload: Bytes, headers: Headers): string {
    const messageId = randomUUID();
    const handlers = this.topics.get(topic);
    if (handlers) {
      const data = copy(payload);
      for (const entry of handlers) {
        // Delivered on a later tick, in publish order, never inside publish().
        setImmediate(() => {
          if (!handlers.has(entry)) return;
          try {
            entry.handler({
              topic,
              payload: copy(data),
              headers: { ...headers },
              messageId,
              ...(key === undefined ? {} : { key }),
            });
          } catch (err) {
            process.emitWarning(`memory driver: a subscriber of "${topic}" threw: ${String(err)}`);
          }
        });
      }
    }
    return messageId;
  }

  async subscribe(topic: string, handler: (message: PubSubMessage) => void): Promise<Subscription> {
    this.open();
    checkName('topic', topic, this.limits);
    if (typeof handler !== 'function') throw invalid('handler must be a function');
    let handlers = this.topics.get(topic);
    if (!handlers) {
      handlers = new Set();
      this.topics.set(topic, handlers);
    }
    const entry: HandlerEntry = { handler };
    handlers.add(entry);
    const set = handlers;
    return {
      unsubscribe: async () => {
        set.delete(entry);
        if (set.size === 0 && this.topics.get(topic) === set) this.topics.delete(topic);
      },
    };
  }

  // --- queue_basic ------------------------------------------------------------------------------
  // A message is ready, invisible (leased by a receive or delayed by a nack) or dead. When a lease
  // runs out or is nacked, a message that has used up its deliveries goes to the dead letters;
  // any other goes back to the front of the queue.

  async enqueue(queue: string, payload: Bytes, headers?: Headers): Promise<{ messageId: string }> {
    this.open();
    checkName('queue', queue, this.limits);
    checkValue(DRIVER, payload, this.limits);
    const hdrs = checkHeaders(headers);
    const q = this.queue(queue);
    const id = randomUUID();
    q.messages.set(id, {
      id,
      payload: copy(payload),
      headers: hdrs,
      deliveryCount: 0,
      maxDeliveries: DEFAULT_MAX_DELIVERIES,
      lease: null,
      visibleAt: null,
    });
    q.ready.push(id);
    this.wake(q);
    return { messageId: id };
  }

  async receive(
    queue: string,
    options: { max?: number; visibilityTimeoutMs: number; waitMs?: number } & QueueOptions,
  ): Promise<QueueMessage[]> {
    this.open();
    checkName('queue', queue, this.limits);
    if (options === null || typeof options !== 'object') throw invalid('options are required');
    const max = checkLimit(DRIVER, options.max, 1);
    const visibility = checkMs('visibilityTimeoutMs', options.visibilityTimeoutMs, { min: 1 });
    const waitMs = checkMs('waitMs', options.waitMs, { fallback: 0 });
    const maxDeliveries = checkMaxDeliveries(options.maxDeliveries);
    const deadline = now() + waitMs;
    const q = this.queue(queue);
    while (true) {
      const got = this.take(q, max, visibility, maxDeliveries);
      const t = now();
      if (got.length > 0 || this.closed || t >= deadline) return got;
      let wait = deadline - t;
      for (const id of q.invisible) {
        const visibleAt = q.messages.get(id)?.visibleAt;
        if (visibleAt != null) wait = Math.min(wait, visibleAt - t);
      }
      await this.waitOn(q, Math.max(1, Math.ceil(wait)));
    }
  }

  async ack(queue: string, receipt: string): Promise<void> {
    this.open();
    checkName('queue', queue, this.limits);
    const { id, token } = parseReceipt(receipt);
    const q = this.queues.get(queue);
    const message = q?.messages.get(id);
    if (!q || !message) return; // already acked: acks are idempotent
    if (token === 'dlq') {
      const at = q.dead.indexOf(id);
      if (at >= 0) {
        q.dead.splice(at, 1);
        q.messages.delete(id);
      }
      return;
    }
    // A receipt whose lease ran out and was handed to someone else no longer acks the message.
    if (message.lease === null || String(message.lease) !== token) return;
    q.messages.delete(id);
    q.invisible.delete(id);
  }

  async nack(queue: string, receipt: string, options?: { delayMs?: number }): Promise<void> {
    this.open();
    checkName('queue', queue, this.limits);
    const { id, token } = parseReceipt(receipt);
    const delayMs = checkMs('delayMs', options?.delayMs, { fallback: 0 });
    const q = this.queues.get(queue);
    const message = q?.messages.get(id);
    if (!q || !message || message.lease === null || String(message.lease) !== token) return;
    message.lease = null;
    if (delayMs > 0) {
      message.visibleAt = now() + delayMs;
      this.wake(q); // waiters recompute their timeout to the new due time
      return;
    }
    q.invisible.delete(id);
    message.visibleAt = null;
    if (message.deliveryCount >= message.maxDeliveries) q.dead.push(id);
    else q.ready.unshift(id);
    this.wake(q);
  }

  async deadLetters(queue: string, options?: { max?: number }): Promise<QueueMessage[]> {
    this.open();
    checkName('queue', queue, this.limits);
    const max = checkLimit(DRIVER, options?.max, 100);
    const q = this.queues.get(queue);
    if (!q) return [];
    this.requeueDue(q, now());
    return q.dead.slice(0, max).flatMap((id) => {
      const m = q.messages.get(id);
      return m ? [this.toQueueMessage(m, `${id}.dlq`)] : [];
    });
  }

  // --- ledger_basic -----------------------------------------------------------------------------

  async applyChange(key: string, changeId: string, change: LedgerChange): Promise<LedgerOutcome> {
    this.open();
    return this.ledger.applyChange(key, changeId, change);
  }

  async balance(key: string): Promise<number | null> {
    this.open();
    return this.ledger.balance(key);
  }

  // --- internals --------------------------------------------------------------------------------

  private open(): void {
    if (this.closed) throw new DriverError(DRIVER, 'Unavailable', 'the driver is closed');
  }

  /** The entry when present and not expired; an expired one is removed on the way. */
  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt !== null && entry.expiresAt <= now()) {
      this.drop(key);
      return undefined;
    }
    return entry;
  }

  private write(key: string, value: Uint8Array, expiresAt: number | null): Entry {
    if (!this.entries.has(key)) this.order.insert(key);
    const entry: Entry = { value: copy(value), expiresAt, version: ++this.clock };
    this.entries.set(key, entry);
    if (expiresAt === null) this.expiring.delete(key);
    else this.expiring.add(key);
    return entry;
  }

  private drop(key: string): void {
    if (this.entries.delete(key)) this.order.remove(key);
    this.expiring.delete(key);
  }

  private sweep(): void {
    const t = now();
    for (const key of this.expiring) {
      const expiresAt = this.entries.get(key)?.expiresAt;
      if (expiresAt == null || expiresAt <= t) this.drop(key);
    }
    for (const q of this.queues.values()) this.requeueDue(q, t);
    this.ledger.sweep();
  }

  private queue(name: string): MemoryQueue {
    let q = this.queues.get(name);
    if (!q) {
      q = { messages: new Map(), ready: [], invisible: new Set(), dead: [], waiters: new Set() };
      this.queues.set(name, q);
    }
    return q;
  }

  /** Moves messages whose invisibility ran out back to the front, or to the dead letters. */
  private requeueDue(q: MemoryQueue, t: number): void {
    const due: StoredMessage[] = [];
    for (const id of q.invisible) {
      const m = q.messages.get(id);
      if (!m) {
        q.invisible.delete(id);
      } else if (m.visibleAt !== null && m.visibleAt <= t) {
        q.invisible.delete(id);
        due.push(m);
      }
    }
    if (due.length === 0) return;
    due.sort((a, b) => (a.visibleAt ?? 0) - (b.visibleAt ?? 0));
    const back: string[] = [];
    for (const m of due) {
      m.visibleAt = null;
      m.lease = null;
      if (m.deliveryCount >= m.maxDeliveries) q.dead.push(m.id);
      else back.push(m.id);
    }
    q.ready.unshift(...back);
  }

  private take(q: MemoryQueue, max: number, visibilityMs: number, maxDeliveries: number): QueueMessage[] {
    const t = now();
    this.requeueDue(q, t);
    const out: QueueMessage[] = [];
    while (out.length < max) {
      const id = q.ready.shift();
      if (id === undefined) break;
      const m = q.messages.get(id);
      if (!m) continue;
      if (m.deliveryCount >= maxDeliveries) {
        q.dead.push(id);
        continue;
      }
      m.deliveryCount += 1;
      m.maxDeliveries = maxDeliveries;
      m.lease = m.deliveryCount;
      m.visibleAt = t + visibilityMs;
      q.invisible.add(id);
      out.push(this.toQueueMessage(m, `${id}.${m.lease}`));
    }
    return out;
  }

  private toQueueMessage(m: StoredMessage, receipt: string): QueueMessage {
    return {
      messageId: m.id,
      payload: copy(m.payload),
      headers: { ...m.headers },
      deliveryCount: m.deliveryCount,
      receipt,
    };
  }

  private waitOn(q: MemoryQueue, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        q.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      q.waiters.add(done);
    });
  }

  private wake(q: MemoryQueue): void {
    for (const waiter of [...q.waiters]) waiter();
  }
}

function encodeCursor(lastKey: string): string {
  return CURSOR_TAG + Buffer.from(lastKey, 'utf8').toString('base64url');
}

function decodeCursor(cursor: unknown): string | null {
  if (cursor === undefined || cursor === null) return null;
  if (typeof cursor !== 'string' || !cursor.startsWith(CURSOR_TAG)) throw invalid('malformed scan cursor');
  const encoded = cursor.slice(CURSOR_TAG.length);
  const key = Buffer.from(encoded, 'base64url').toString('utf8');
  if (key.length === 0 || encodeCursor(key) !== cursor) throw invalid('malformed scan cursor');
  return key;
}
