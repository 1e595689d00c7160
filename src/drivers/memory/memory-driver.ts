// The in-process driver: health and close, composing one part per capability (keyvalue.ts,
// pubsub.ts, queue.ts, ledger.ts, changefeed.ts) over a shared context (context.ts). Everything is copied in and
// out, so callers never share buffers with the store. Loaded only by memoryDriver.create().
import type {
  Capability,
  ChangeFeed,
  KeyValueBasic,
  KeyValueBatch,
  KeyValueCas,
  KeyValueHash,
  KeyValueScan,
  KeyValueTtl,
  LedgerBasic,
  PubSubBasic,
  PubSubBatch,
  QueueBasic,
} from '../capabilities';
import type { DriverBase, DriverHealth } from '../driver';
import type { DriverContext } from '../registry';
import { MEMORY_CAPABILITIES, type MemoryConfig } from './config';
import { MemoryChangeFeed } from './changefeed';
import { DRIVER, MemoryContext } from './context';
import { MemoryKeyValue } from './keyvalue';
import { MemoryLedger } from './ledger';
import { MemoryPubSub } from './pubsub';
import { MemoryQueues } from './queue';

const SWEEP_INTERVAL_MS = 1_000;

export class MemoryDriver
  implements
    DriverBase,
    KeyValueBasic,
    KeyValueTtl,
    KeyValueScan,
    KeyValueBatch,
    KeyValueCas,
    KeyValueHash,
    PubSubBasic,
    PubSubBatch,
    QueueBasic,
    LedgerBasic,
    ChangeFeed
{
  readonly driverName = DRIVER;
  readonly capabilities: ReadonlySet<Capability> = new Set(MEMORY_CAPABILITIES);

  private readonly ctx: MemoryContext;
  private readonly kv: MemoryKeyValue;
  private readonly pubsub: MemoryPubSub;
  private readonly queues: MemoryQueues;
  private readonly ledger: MemoryLedger;
  private readonly feed: MemoryChangeFeed;
  private readonly sweeper: NodeJS.Timeout;

  constructor(config: MemoryConfig, _context: DriverContext) {
    this.ctx = new MemoryContext({ ...config.limits });
    this.kv = new MemoryKeyValue(this.ctx);
    this.pubsub = new MemoryPubSub(this.ctx);
    this.queues = new MemoryQueues(this.ctx);
    this.ledger = new MemoryLedger(this.ctx.limits);
    this.feed = new MemoryChangeFeed(this.ctx, this.kv);
    // Expiry is enforced on every access; the sweeper only frees memory of keys nobody reads.
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  async health(): Promise<DriverHealth> {
    return this.ctx.isClosed ? { healthy: false, detail: 'closed' } : { healthy: true };
  }

  async close(): Promise<void> {
    if (this.ctx.isClosed) return;
    this.ctx.markClosed();
    clearInterval(this.sweeper);
    this.kv.clear();
    this.pubsub.clear();
    this.queues.close();
    this.ledger.clear();
    this.feed.clear();
  }

  // keyvalue_basic
  readonly get: MemoryKeyValue['get'] = (key) => this.kv.get(key);
  readonly set: MemoryKeyValue['set'] = (key, value) => this.kv.set(key, value);
  readonly delete: MemoryKeyValue['delete'] = (key) => this.kv.delete(key);
  readonly exists: MemoryKeyValue['exists'] = (key) => this.kv.exists(key);
  // keyvalue_ttl
  readonly setWithTtl: MemoryKeyValue['setWithTtl'] = (key, value, ttl) => this.kv.setWithTtl(key, value, ttl);
  readonly expire: MemoryKeyValue['expire'] = (key, ttl) => this.kv.expire(key, ttl);
  readonly ttl: MemoryKeyValue['ttl'] = (key) => this.kv.ttl(key);
  readonly persist: MemoryKeyValue['persist'] = (key) => this.kv.persist(key);
  // keyvalue_scan
  readonly scan: MemoryKeyValue['scan'] = (prefix, options) => this.kv.scan(prefix, options);
  // keyvalue_batch
  readonly getMany: MemoryKeyValue['getMany'] = (keys) => this.kv.getMany(keys);
  readonly setMany: MemoryKeyValue['setMany'] = (entries, options) => this.kv.setMany(entries, options);
  readonly deleteMany: MemoryKeyValue['deleteMany'] = (keys) => this.kv.deleteMany(keys);
  // keyvalue_cas
  readonly getVersioned: MemoryKeyValue['getVersioned'] = (key) => this.kv.getVersioned(key);
  readonly compareAndSet: MemoryKeyValue['compareAndSet'] = (key, value, expected, ttl) =>
    this.kv.compareAndSet(key, value, expected, ttl);
  // keyvalue_hash
  readonly getFields: MemoryKeyValue['getFields'] = (key, fields) => this.kv.getFields(key, fields);
  readonly setFields: MemoryKeyValue['setFields'] = (key, entries, options) => this.kv.setFields(key, entries, options);
  // pubsub_basic, pubsub_batch
  readonly publish: MemoryPubSub['publish'] = (topic, payload, headers) => this.pubsub.publish(topic, payload, headers);
  readonly publishBatch: MemoryPubSub['publishBatch'] = (messages) => this.pubsub.publishBatch(messages);
  readonly subscribe: MemoryPubSub['subscribe'] = (topic, handler) => this.pubsub.subscribe(topic, handler);
  // queue_basic
  readonly enqueue: MemoryQueues['enqueue'] = (queue, payload, headers) => this.queues.enqueue(queue, payload, headers);
  readonly receive: MemoryQueues['receive'] = (queue, options) => this.queues.receive(queue, options);
  readonly ack: MemoryQueues['ack'] = (queue, receipt) => this.queues.ack(queue, receipt);
  readonly nack: MemoryQueues['nack'] = (queue, receipt, options) => this.queues.nack(queue, receipt, options);
  readonly deadLetters: MemoryQueues['deadLetters'] = (queue, options) => this.queues.deadLetters(queue, options);
  // ledger_basic: the part keeps no closed state of its own.
  readonly applyChange: MemoryLedger['applyChange'] = async (key, changeId, change) => {
    this.ctx.open();
    return this.ledger.applyChange(key, changeId, change);
  };
  readonly balance: MemoryLedger['balance'] = async (key) => {
    this.ctx.open();
    return this.ledger.balance(key);
  };

  // changefeed
  readonly compareAndSetLogged: MemoryChangeFeed['compareAndSetLogged'] = (feed, key, value, expected, ttl) =>
    this.feed.compareAndSetLogged(feed, key, value, expected, ttl);
  readonly readFeed: MemoryChangeFeed['readFeed'] = (feed, options) => this.feed.readFeed(feed, options);
  readonly feedHead: MemoryChangeFeed['feedHead'] = (feed) => this.feed.feedHead(feed);
  readonly commitFeed: MemoryChangeFeed['commitFeed'] = (feed, reader, offset) =>
    this.feed.commitFeed(feed, reader, offset);
  readonly trimFeed: MemoryChangeFeed['trimFeed'] = (feed, options) => this.feed.trimFeed(feed, options);

  private sweep(): void {
    this.kv.sweep();
    this.queues.sweep();
    this.ledger.sweep();
  }
}
