// The kafka driver's implementation (pubsub_basic, pubsub_batch and stream_basic over kafkajs). Loaded only by
// kafkaDriver.create() (index.ts), so kafkajs loads only when a config uses Kafka.
import type { Capability } from '../capabilities';
import type { Driver, DriverHealth } from '../driver';
import { DriverError } from '../errors';
import type { DriverContext } from '../registry';
import { KafkaClient } from './client';
import type { KafkaConfig } from './config';
import { DRIVER } from './errors';
import { KafkaPubSub } from './pubsub';
import { KafkaStream } from './stream';

const CAPABILITIES: ReadonlySet<Capability> = new Set(['pubsub_basic', 'pubsub_batch', 'stream_basic']);

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DriverError(DRIVER, 'Timeout', `${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export async function createKafkaDriver(config: KafkaConfig, context: DriverContext): Promise<Driver> {
  // kafkajs 2 warns once about its default partitioner unless told not to; the producer names
  // its partitioner explicitly anyway.
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
  const client = new KafkaClient(config, context);
  try {
    await client.connect();
  } catch (err) {
    await client.close();
    throw err;
  }
  const pubsub = new KafkaPubSub(client);
  const stream = new KafkaStream(client);
  let closed = false;

  const health = async (): Promise<DriverHealth> => {
    if (closed) return { healthy: false, detail: 'closed' };
    try {
      const cluster = await withTimeout(client.admin.describeCluster(), config.requestTimeoutMs, 'describeCluster');
      return {
        healthy: cluster.brokers.length > 0,
        detail: `${cluster.brokers.length} broker(s), controller ${cluster.controller ?? 'unknown'}`,
      };
    } catch (err) {
      return { healthy: false, detail: err instanceof Error ? err.message : String(err) };
    }
  };

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await stream.close();
    await client.close();
  };

  const live =
    <A extends unknown[], R>(op: (...args: A) => Promise<R>): ((...args: A) => Promise<R>) =>
    (...args: A) =>
      closed ? Promise.reject(new DriverError(DRIVER, 'Unavailable', 'the driver is closed')) : op(...args);

  return {
    driverName: DRIVER,
    capabilities: CAPABILITIES,
    health,
    close,
    publish: live(pubsub.publish.bind(pubsub)),
    subscribe: live(pubsub.subscribe.bind(pubsub)),
    publishBatch: live(pubsub.publishBatch.bind(pubsub)),
    append: live(stream.append.bind(stream)),
    read: live(stream.read.bind(stream)),
    readGroup: live(stream.readGroup.bind(stream)),
    commit: live(stream.commit.bind(stream)),
    committed: live(stream.committed.bind(stream)),
  };
}
