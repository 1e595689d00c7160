// The postgres driver: one pool shared by the key-value, queue, pub/sub and CDC parts, plus a
// dedicated connection for LISTEN. Loaded by index.ts only when a backend uses it.
import { Client, Pool } from 'pg';
import type { Capability, CaptureStatus } from '../capabilities';
import type { DriverBase, DriverHealth } from '../driver';
import type { DriverContext } from '../registry';
import { captureStatus } from './cdc-status';
import { PgChangeFeed } from './changefeed';
import { PgCdcSnapshot } from './cdc-snapshot';
import { PgCdcSource } from './cdc-source';
import { POSTGRES_CAPABILITIES, type PostgresConfig } from './config';
import { clientConfig, PgContext } from './context';
import { PgKeyValue } from './keyvalue';
import { PgOutbox } from './outbox';
import { PgLedger } from './ledger';
import { PgPubSub } from './pubsub';
import { PgQueue } from './queue';

export class PostgresDriver implements DriverBase {
  readonly driverName = 'postgres';
  readonly capabilities: ReadonlySet<Capability> = new Set(POSTGRES_CAPABILITIES);
  private readonly ctx: PgContext;
  private readonly pool: Pool;
  private readonly kv: PgKeyValue;
  private readonly queue: PgQueue;
  private readonly pubsub: PgPubSub;
  private readonly cdc: PgCdcSource;
  private readonly snapshots: PgCdcSnapshot;
  private readonly outbox: PgOutbox;
  private readonly ledger: PgLedger;
  private readonly feed: PgChangeFeed;
  private closing: Promise<void> | undefined;

  constructor(config: PostgresConfig, context: DriverContext) {
    const connection = clientConfig(config, context);
    this.pool = new Pool({ ...connection, max: config.pool.max, idleTimeoutMillis: config.pool.idleTimeoutMs });
    // An idle connection that dies emits 'error' on the pool; the pool drops it. Without a listener
    // the process would crash.
    this.pool.on('error', () => undefined);
    this.ctx = new PgContext(this.pool, config, { ...config.limits }, connection);
    this.kv = new PgKeyValue(this.ctx);
    this.queue = new PgQueue(this.ctx);
    this.pubsub = new PgPubSub(this.ctx, () => new Client(connection));
    this.cdc = new PgCdcSource(this.ctx, {
      heartbeatIntervalMs: config.cdcHeartbeatIntervalMs,
      report: context.report,
    });
    this.snapshots = new PgCdcSnapshot(
      this.ctx,
      this.cdc,
      // pg types lack the replication option of its Client.
      () => new Client({ ...connection, replication: 'database' } as typeof connection),
    );
    this.outbox = new PgOutbox(this.ctx);
    this.ledger = new PgLedger(this.ctx);
    this.feed = new PgChangeFeed(this.ctx, this.kv);
  }

  async health(): Promise<DriverHealth> {
    try {
      await this.ctx.query('health check', 'SELECT 1');
      return { healthy: true };
    } catch (err) {
      return { healthy: false, detail: err instanceof Error ? err.message : String(err) };
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.ctx.markClosed();
      this.kv.close();
      this.ledger.close();
      await this.pubsub.close();
      await this.pool.end();
    })();
    return this.closing;
  }

  // keyvalue_basic
  readonly get: PgKeyValue['get'] = (key) => this.kv.get(key);
  readonly set: PgKeyValue['set'] = (key, value) => this.kv.set(key, value);
  readonly delete: PgKeyValue['delete'] = (key) => this.kv.delete(key);
  readonly exists: PgKeyValue['exists'] = (key) => this.kv.exists(key);
  // keyvalue_ttl
  readonly setWithTtl: PgKeyValue['setWithTtl'] = (key, value, ttl) => this.kv.setWithTtl(key, value, ttl);
  readonly expire: PgKeyValue['expire'] = (key, ttl) => this.kv.expire(key, ttl);
  readonly ttl: PgKeyValue['ttl'] = (key) => this.kv.ttl(key);
  readonly persist: PgKeyValue['persist'] = (key) => this.kv.persist(key);
  // keyvalue_scan
  readonly scan: PgKeyValue['scan'] = (prefix, options) => this.kv.scan(prefix, options);
  // keyvalue_batch
  readonly getMany: PgKeyValue['getMany'] = (keys) => this.kv.getMany(keys);
  readonly setMany: PgKeyValue['setMany'] = (entries, options) => this.kv.setMany(entries, options);
  readonly deleteMany: PgKeyValue['deleteMany'] = (keys) => this.kv.deleteMany(keys);
  // keyvalue_cas
  readonly getVersioned: PgKeyValue['getVersioned'] = (key) => this.kv.getVersioned(key);
  readonly compareAndSet: PgKeyValue['compareAndSet'] = (key, value, expected, ttl) =>
    this.kv.compareAndSet(key, value, expected, ttl);
  // queue_basic
  readonly enqueue: PgQueue['enqueue'] = (queue, payload, headers) => this.queue.enqueue(queue, payload, headers);
  readonly receive: PgQueue['receive'] = (queue, options) => this.queue.receive(queue, options);
  readonly ack: PgQueue['ack'] = (queue, receipt) => this.queue.ack(queue, receipt);
  readonly nack: PgQueue['nack'] = (queue, receipt, options) => this.queue.nack(queue, receipt, options);
  readonly deadLetters: PgQueue['deadLetters'] = (queue, options) => this.queue.deadLetters(queue, options);
  // pubsub_basic
  readonly publish: PgPubSub['publish'] = (topic, payload, headers) => this.pubsub.publish(topic, payload, headers);
  readonly subscribe: PgPubSub['subscribe'] = (topic, handler) => this.pubsub.subscribe(topic, handler);
  // cdc_source
  readonly ensureCapture: PgCdcSource['ensureCapture'] = (options) => this.cdc.ensureCapture(options);
  readonly readChanges: PgCdcSource['readChanges'] = (options) => this.cdc.readChanges(options);
  readonly confirm: PgCdcSource['confirm'] = (options) => this.cdc.confirm(options);
  readonly dropCapture: PgCdcSource['dropCapture'] = (options) => this.cdc.dropCapture(options);
  readonly streamChanges: PgCdcSource['streamChanges'] = (options) => this.cdc.streamChanges(options);
  readonly captureStatus = (options: { slot: string }): Promise<CaptureStatus> => captureStatus(this.ctx, options);
  // cdc_snapshot
  readonly prepareSnapshot: PgCdcSnapshot['prepareSnapshot'] = (options) => this.snapshots.prepareSnapshot(options);
  readonly readSnapshot: PgCdcSnapshot['readSnapshot'] = (options) => this.snapshots.readSnapshot(options);
  readonly finishSnapshot: PgCdcSnapshot['finishSnapshot'] = (options) => this.snapshots.finishSnapshot(options);
  readonly forgetSnapshot: PgCdcSnapshot['forgetSnapshot'] = (options) => this.snapshots.forgetSnapshot(options);
  // outbox_source
  readonly checkOutbox: PgOutbox['checkOutbox'] = (options) => this.outbox.checkOutbox(options);
  readonly pollOutbox: PgOutbox['pollOutbox'] = (options) => this.outbox.pollOutbox(options);
  readonly markPublished: PgOutbox['markPublished'] = (options) => this.outbox.markPublished(options);
  readonly outboxLag: PgOutbox['outboxLag'] = (options) => this.outbox.outboxLag(options);
  // ledger_basic
  readonly applyChange: PgLedger['applyChange'] = (key, changeId, change) =>
    this.ledger.applyChange(key, changeId, change);
  readonly balance: PgLedger['balance'] = (key) => this.ledger.balance(key);
  // changefeed
  readonly compareAndSetLogged: PgChangeFeed['compareAndSetLogged'] = (feed, key, value, expected, ttl) =>
    this.feed.compareAndSetLogged(feed, key, value, expected, ttl);
  readonly readFeed: PgChangeFeed['readFeed'] = (feed, options) => this.feed.readFeed(feed, options);
  readonly feedHead: PgChangeFeed['feedHead'] = (feed) => this.feed.feedHead(feed);
  readonly commitFeed: PgChangeFeed['commitFeed'] = (feed, reader, offset) =>
    this.feed.commitFeed(feed, reader, offset);
  readonly trimFeed: PgChangeFeed['trimFeed'] = (feed, options) => this.feed.trimFeed(feed, options);
}

export async function createPostgresDriver(config: PostgresConfig, context: DriverContext): Promise<PostgresDriver> {
  return new PostgresDriver(config, context);
}
