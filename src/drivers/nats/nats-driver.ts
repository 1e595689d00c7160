// The nats driver's implementation: one connection, core NATS for pubsub_basic/_batch, JetStream for
// queue_basic and stream_basic, JetStream KV for keyvalue_basic and keyvalue_scan. Loaded only by
// natsDriver.create() (index.ts), so the client packages load only when a config uses NATS.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type ConnectionOptions, type NatsConnection } from './client';
import type { Capability } from '../capabilities';
import type { Driver, DriverHealth } from '../driver';
import { DriverError } from '../errors';
import type { Limits } from '../limits';
import type { DriverContext } from '../registry';
import type { NatsConfig } from './config';
import { DRIVER, guard, toDriverError, withTimeout } from './errors';
import { JetStreamOps } from './jetstream';
import { NatsKeyValue } from './keyvalue';
import { NatsPubSub } from './pubsub';
import { NatsQueue } from './queue';
import { NatsStream } from './stream';

function connectionOptions(config: NatsConfig, context: DriverContext): ConnectionOptions {
  const options: ConnectionOptions = {
    servers: config.servers,
    name: config.name ?? `prism:${context.backend}`,
    timeout: config.timeoutMs,
    // Keep reconnecting: calls made while disconnected fail with Timeout (retryable).
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
  };
  if (config.user !== undefined) options.user = config.user;
  if (config.pass !== undefined) options.pass = config.pass;
  if (config.token !== undefined) options.token = config.token;
  if (config.tls) {
    options.tls = {
      ...(config.tls.ca ? { caFile: config.tls.ca } : {}),
      ...(config.tls.cert ? { certFile: config.tls.cert } : {}),
      ...(config.tls.key ? { keyFile: config.tls.key } : {}),
    };
  }
  return options;
}

export async function createNatsDriver(config: NatsConfig, context: DriverContext): Promise<Driver> {
  const nc = await guard(`connect to ${String(config.servers)}`, () => connect(connectionOptions(config, context)));
  try {
    return await NatsDriver.open(nc, config);
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw toDriverError(err, 'open');
  }
}

class NatsDriver {
  readonly driverName = DRIVER;
  readonly capabilities: ReadonlySet<Capability>;
  private closed = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number,
    private readonly pubsub: NatsPubSub,
    private readonly js: JetStreamOps | null,
    private readonly kv: NatsKeyValue | null,
    private readonly queue: NatsQueue | null,
    private readonly stream: NatsStream | null,
  ) {
    const caps: Capability[] = ['pubsub_basic', 'pubsub_batch'];
    if (kv) caps.push('keyvalue_basic', 'keyvalue_scan');
    if (queue) caps.push('queue_basic');
    if (stream) caps.push('stream_basic');
    // keyvalue_ttl would need per-message TTLs (server 2.11+), not implemented yet.
    this.capabilities = new Set(caps);
  }

  static async open(nc: NatsConnection, config: NatsConfig): Promise<Driver> {
    const limits: Limits = config.limits;
    const pubsub = new NatsPubSub(nc, config.pubsubSubjectPrefix, limits, config.timeoutMs);
    // JetStream capabilities only when the server runs JetStream (`-js`).
    if (!nc.info?.jetstream) return new NatsDriver(nc, config.timeoutMs, pubsub, null, null, null, null).asDriver();
    const jsm = await jetstreamManager(nc, { timeout: config.timeoutMs });
    const js = jetstream(nc, { timeout: config.timeoutMs });
    const ops = new JetStreamOps(nc, js, jsm, config.storage, config.timeoutMs, config.replicas);
    const kv = new NatsKeyValue(ops, config.kvBucket, config.storage, config.timeoutMs, limits);
    const queue = new NatsQueue(ops, {
      queuePrefix: config.queuePrefix,
      subjectPrefix: config.queueSubjectPrefix,
      limits,
    });
    const stream = new NatsStream(ops, {
      streamPrefix: config.streamPrefix,
      subjectPrefix: config.streamSubjectPrefix,
      groupAckWaitMs: config.groupAckWaitMs,
      limits,
    });
    return new NatsDriver(nc, config.timeoutMs, pubsub, ops, kv, queue, stream).asDriver();
  }

  /** Wraps an operation so that it fails once the driver is closed. */
  private live<A extends unknown[], R>(op: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    return (...args: A) =>
      this.closed ? Promise.reject(new DriverError(DRIVER, 'Unavailable', 'the driver is closed')) : op(...args);
  }

  /** The instance as a Driver: base members plus the operations of the capabilities it offers. */
  private asDriver(): Driver {
    const { pubsub, kv, queue, stream } = this;
    const d: Driver = {
      driverName: this.driverName,
      capabilities: this.capabilities,
      health: () => this.health(),
      close: () => this.close(),
      publish: this.live(pubsub.publish.bind(pubsub)),
      subscribe: this.live(pubsub.subscribe.bind(pubsub)),
      publishBatch: this.live(pubsub.publishBatch.bind(pubsub)),
    };
    if (kv) {
      Object.assign(d, {
        get: this.live(kv.get.bind(kv)),
        set: this.live(kv.set.bind(kv)),
        delete: this.live(kv.delete.bind(kv)),
        exists: this.live(kv.exists.bind(kv)),
        scan: this.live(kv.scan.bind(kv)),
      } satisfies Partial<Driver>);
    }
    if (queue) {
      Object.assign(d, {
        enqueue: this.live(queue.enqueue.bind(queue)),
        receive: this.live(queue.receive.bind(queue)),
        ack: this.live(queue.ack.bind(queue)),
        nack: this.live(queue.nack.bind(queue)),
        deadLetters: this.live(queue.deadLetters.bind(queue)),
      } satisfies Partial<Driver>);
    }
    if (stream) {
      Object.assign(d, {
        append: this.live(stream.append.bind(stream)),
        read: this.live(stream.read.bind(stream)),
        readGroup: this.live(stream.readGroup.bind(stream)),
        commit: this.live(stream.commit.bind(stream)),
        committed: this.live(stream.committed.bind(stream)),
      } satisfies Partial<Driver>);
    }
    return d;
  }

  async health(): Promise<DriverHealth> {
    if (this.closed || this.nc.isClosed()) return { healthy: false, detail: 'connection closed' };
    try {
      const rtt = await withTimeout(this.nc.rtt(), this.timeoutMs, 'ping');
      let detail = `server ${this.nc.info?.version ?? '?'} at ${this.nc.getServer()}, rtt ${rtt.toFixed(1)} ms`;
      if (this.js) {
        const account = await withTimeout(this.js.jsm.getAccountInfo(), this.timeoutMs, 'JetStream account info');
        detail += `, JetStream ${account.streams} streams`;
      }
      return { healthy: true, detail };
    } catch (err) {
      return { healthy: false, detail: err instanceof Error ? err.message : String(err) };
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pubsub.closeAll();
    try {
      await withTimeout(this.nc.drain(), this.timeoutMs, 'drain');
    } catch {
      // Draining failed (already closed, or disconnected): close outright.
    }
    await this.nc.close().catch(() => undefined);
  }
}
