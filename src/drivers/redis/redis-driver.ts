// The Redis driver (ioredis 5): the connection, health and close, composing one part per
// capability (keyvalue.ts, hash.ts, scan.ts, pubsub.ts, queue.ts, stream.ts, ledger.ts, changefeed.ts) over a shared
// context (context.ts, which also describes the key layout). Loaded only by redisDriver.create().
import { readFileSync } from 'node:fs';
import Redis, { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';
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
  QueueBasic,
  StreamBasic,
} from '../capabilities';
import type { DriverBase, DriverHealth } from '../driver';
import { DriverError } from '../errors';
import type { DriverContext } from '../registry';
import { DEFAULT_REDIS_URL, redisCapabilitiesFor, type RedisConfig } from './config';
import { RedisChangeFeed } from './changefeed';
import { RedisContext, type RedisClient } from './context';
import { classifyRedisError, DRIVER } from './errors';
import { RedisHash } from './hash';
import { RedisKeyValue } from './keyvalue';
import { RedisLedger } from './ledger';
import { RedisPubSub } from './pubsub';
import { RedisQueue } from './queue';
import { RedisScan } from './scan';
import { RedisStream } from './stream';

export { classifyRedisError } from './errors';

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

/**
 * Redis Cluster: the per-node options above, and the cluster's own. Commands still fail fast while
 * no primary serves their slot; the caller's retries (breaker, activity retries) span a failover.
 */
function clusterOptions(config: RedisConfig, context: DriverContext): ClusterOptions {
  const { lazyConnect, enableOfflineQueue, ...redisOptions } = clientOptions(config, context);
  return {
    lazyConnect,
    enableOfflineQueue,
    redisOptions,
    slotsRefreshTimeout: config.connectTimeoutMs,
    // Reads from primaries: replicas may lag, and CAS and ledgers read their own writes.
    scaleReads: 'master',
  };
}

function clusterNode(hostPort: string): { host: string; port: number } {
  const at = hostPort.lastIndexOf(':');
  return { host: hostPort.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(hostPort.slice(at + 1)) };
}

function createClient(config: RedisConfig, context: DriverContext): RedisClient {
  if (config.nodes) return new Cluster(config.nodes.map(clusterNode), clusterOptions(config, context));
  return new Redis(config.url ?? DEFAULT_REDIS_URL, clientOptions(config, context));
}

export class RedisDriver
  implements
    DriverBase,
    KeyValueBasic,
    KeyValueTtl,
    KeyValueScan,
    KeyValueBatch,
    KeyValueCas,
    KeyValueHash,
    PubSubBasic,
    QueueBasic,
    StreamBasic,
    LedgerBasic,
    ChangeFeed
{
  readonly driverName = DRIVER;
  readonly capabilities: ReadonlySet<Capability>;

  private readonly ctx: RedisContext;
  private readonly kv: RedisKeyValue;
  private readonly hash: RedisHash;
  private readonly scanner: RedisScan;
  private readonly pubsub: RedisPubSub;
  private readonly queue: RedisQueue;
  private readonly stream: RedisStream;
  private readonly ledger: RedisLedger;
  private readonly feed: RedisChangeFeed;

  private constructor(
    private readonly client: RedisClient,
    config: RedisConfig,
  ) {
    const ctx = new RedisContext(client, { ...config.limits }, config.keyPrefix ?? '', config.nodes !== undefined);
    this.ctx = ctx;
    this.kv = new RedisKeyValue(ctx);
    this.hash = new RedisHash(ctx);
    this.scanner = new RedisScan(ctx);
    this.pubsub = new RedisPubSub(ctx);
    this.queue = new RedisQueue(ctx);
    this.stream = new RedisStream(ctx);
    this.feed = new RedisChangeFeed(ctx, config.commandTimeoutMs);
    this.capabilities = new Set(redisCapabilitiesFor(config));
    this.ledger = new RedisLedger({
      limits: ctx.limits,
      internalKeyOn: (anchor, kind, ...parts) => ctx.internalKeyOn(anchor, kind, ...parts),
      eval: (script, keys, args) => ctx.eval(script, keys, args),
      get: (key) => client.getBuffer(key),
    });
    client.on('error', (err: Error) => {
      ctx.lastError = err.message;
    });
  }

  /** Connects (failing with Unavailable when the server does not answer) and returns the driver. */
  static async connect(config: RedisConfig, context: DriverContext): Promise<RedisDriver> {
    const client = createClient(config, context);
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
    if (this.ctx.isClosed) return { healthy: false, detail: 'closed' };
    try {
      await this.client.ping();
      return { healthy: true };
    } catch (err) {
      const last = this.ctx.lastError ? `, last connection error: ${this.ctx.lastError}` : '';
      return { healthy: false, detail: `${(err as Error).message} (status ${this.client.status}${last})` };
    }
  }

  async close(): Promise<void> {
    if (this.ctx.isClosed) return;
    this.ctx.markClosed();
    const clients = [this.client, ...(await this.pubsub.close()), ...(await this.feed.close())];
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

  // keyvalue_basic
  readonly get: RedisKeyValue['get'] = (key) => this.kv.get(key);
  readonly set: RedisKeyValue['set'] = (key, value) => this.kv.set(key, value);
  readonly delete: RedisKeyValue['delete'] = (key) => this.kv.delete(key);
  readonly exists: RedisKeyValue['exists'] = (key) => this.kv.exists(key);
  // keyvalue_ttl
  readonly setWithTtl: RedisKeyValue['setWithTtl'] = (key, value, ttl) => this.kv.setWithTtl(key, value, ttl);
  readonly expire: RedisKeyValue['expire'] = (key, ttl) => this.kv.expire(key, ttl);
  readonly ttl: RedisKeyValue['ttl'] = (key) => this.kv.ttl(key);
  readonly persist: RedisKeyValue['persist'] = (key) => this.kv.persist(key);
  // keyvalue_scan
  readonly scan: RedisScan['scan'] = (prefix, options) => this.scanner.scan(prefix, options);
  // keyvalue_batch
  readonly getMany: RedisKeyValue['getMany'] = (keys) => this.kv.getMany(keys);
  readonly setMany: RedisKeyValue['setMany'] = (entries, options) => this.kv.setMany(entries, options);
  readonly deleteMany: RedisKeyValue['deleteMany'] = (keys) => this.kv.deleteMany(keys);
  // keyvalue_cas
  readonly getVersioned: RedisKeyValue['getVersioned'] = (key) => this.kv.getVersioned(key);
  readonly compareAndSet: RedisKeyValue['compareAndSet'] = (key, value, expected, ttl) =>
    this.kv.compareAndSet(key, value, expected, ttl);
  // keyvalue_hash
  readonly getFields: RedisHash['getFields'] = (key, fields) => this.hash.getFields(key, fields);
  readonly setFields: RedisHash['setFields'] = (key, entries, options) => this.hash.setFields(key, entries, options);
  // pubsub_basic
  readonly publish: RedisPubSub['publish'] = (topic, payload, headers) => this.pubsub.publish(topic, payload, headers);
  readonly subscribe: RedisPubSub['subscribe'] = (topic, handler) => this.pubsub.subscribe(topic, handler);
  // queue_basic
  readonly enqueue: RedisQueue['enqueue'] = (queue, payload, headers) => this.queue.enqueue(queue, payload, headers);
  readonly receive: RedisQueue['receive'] = (queue, options) => this.queue.receive(queue, options);
  readonly ack: RedisQueue['ack'] = (queue, receipt) => this.queue.ack(queue, receipt);
  readonly nack: RedisQueue['nack'] = (queue, receipt, options) => this.queue.nack(queue, receipt, options);
  readonly deadLetters: RedisQueue['deadLetters'] = (queue, options) => this.queue.deadLetters(queue, options);
  // stream_basic
  readonly append: RedisStream['append'] = (stream, payload, headers) => this.stream.append(stream, payload, headers);
  readonly read: RedisStream['read'] = (stream, options) => this.stream.read(stream, options);
  readonly readGroup: RedisStream['readGroup'] = (stream, group, consumer, options) =>
    this.stream.readGroup(stream, group, consumer, options);
  readonly commit: RedisStream['commit'] = (stream, group, offset) => this.stream.commit(stream, group, offset);
  readonly committed: RedisStream['committed'] = (stream, group) => this.stream.committed(stream, group);
  // ledger_basic: the part checks and scripts; closed check and error mapping are the context's.
  readonly applyChange: RedisLedger['applyChange'] = (key, changeId, change) =>
    this.ctx.run(() => this.ledger.applyChange(key, changeId, change));
  readonly balance: RedisLedger['balance'] = (key) => this.ctx.run(() => this.ledger.balance(key));
  // changefeed
  readonly compareAndSetLogged: RedisChangeFeed['compareAndSetLogged'] = (feed, key, value, expected, ttl) =>
    this.feed.compareAndSetLogged(feed, key, value, expected, ttl);
  readonly readFeed: RedisChangeFeed['readFeed'] = (feed, options) => this.feed.readFeed(feed, options);
  readonly feedHead: RedisChangeFeed['feedHead'] = (feed) => this.feed.feedHead(feed);
  readonly commitFeed: RedisChangeFeed['commitFeed'] = (feed, reader, offset) =>
    this.feed.commitFeed(feed, reader, offset);
  readonly trimFeed: RedisChangeFeed['trimFeed'] = (feed, options) => this.feed.trimFeed(feed, options);
}
