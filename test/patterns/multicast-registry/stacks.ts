// The backend pairs the multicast registry's tests run on, and an independent listener per
// messaging backend that records which identities received a multicast (not through Prism's
// worker: a raw client of the messaging server).
import { connect, type NatsConnection } from '../../../src/drivers/nats/client';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import type { BackendHandle } from '../../../src/runtime/backend-handle';
import { BackendPool } from '../../../src/runtime/backend-pool';
import { topicName } from '../../../src/drivers/kafka/names';
import { subjectTopic } from '../../../src/drivers/nats/names';
import type { RegistryDriver } from '../../../src/activities/multicast-registry/registry-store';
import { stackEnv, uniqueName } from '../../helpers/env';

export interface Received {
  /** identity → messages received */
  counts: Map<string, number>;
  payloads: Set<string>;
}

export interface Listener {
  /** Waits until `identities` distinct identities were heard from (or the timeout), then returns what was heard. */
  collect(identities: number, timeoutMs: number): Promise<Received>;
  close(): Promise<void>;
}

export interface Stack {
  name: string;
  /** Identities for the multicast tests (each costs a Kafka topic on Kafka). */
  targets: number;
  /** Runs the stack-independent cases too (the others run on the first stack only, to save time). */
  full: boolean;
  registryBackend: Record<string, unknown>;
  messagingBackend: Record<string, unknown>;
  /**
   * A handle on the registry backend in the test process (as `reg`, the worker's name for it),
   * for the client's direct path and setup; opened in `pool` (default: the process's shared one).
   */
  registryDriver(pool?: BackendPool): Promise<RegistryHandle>;
  /** Starts listening to every topic under topicPrefix; call before the multicast starts. */
  listen(topicPrefix: string): Promise<Listener>;
}

export type RegistryHandle = BackendHandle & RegistryDriver;

/**
 * The tests (and the bench's fill) register up to 500 identities at once from one client: a
 * bulkhead that lets them all run, where the default (32 at once) would refuse some.
 */
const CLIENT_BULKHEAD = { capacity: 512 };

async function openRegistry(backend: Record<string, unknown>, pool = BackendPool.shared()): Promise<RegistryHandle> {
  return (await pool.open('reg', { ...backend, bulkhead: CLIENT_BULKHEAD })) as RegistryHandle;
}

function emptyReceived(): Received {
  return { counts: new Map(), payloads: new Set() };
}

async function until(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

/** Redis and NATS: the shared ones unless `redisUrl` or `natsUrl` names another (a fault test's own). */
export function redisNats(redisUrl = stackEnv.redisUrl, natsUrl = stackEnv.natsUrl): Stack {
  const subjectPrefix = `mcrtest.${uniqueName('s').replace(/[^A-Za-z0-9-]/g, '-')}`;
  const redisConfig = { url: redisUrl };
  return {
    name: 'redis+nats',
    targets: 1000,
    full: true,
    registryBackend: { driver: 'redis', config: redisConfig },
    messagingBackend: { driver: 'nats', config: { servers: natsUrl, pubsubSubjectPrefix: subjectPrefix } },
    registryDriver: (pool) => openRegistry({ driver: 'redis', config: redisConfig }, pool),
    // One wildcard subscription on the raw subject space (the driver's subscribe takes one topic).
    async listen(topicPrefix) {
      const nc: NatsConnection = await connect({ servers: natsUrl });
      const received = emptyReceived();
      nc.subscribe(`${subjectPrefix}.>`, {
        callback: (err, msg) => {
          if (err) return;
          const topic = subjectTopic(subjectPrefix, msg.subject);
          if (topic === null || !topic.startsWith(topicPrefix)) return;
          const identity = topic.slice(topicPrefix.length);
          received.counts.set(identity, (received.counts.get(identity) ?? 0) + 1);
          received.payloads.add(new TextDecoder().decode(msg.data));
        },
      });
      await nc.flush();
      return {
        async collect(identities, timeoutMs) {
          await until(() => received.counts.size >= identities, timeoutMs);
          // A moment more, to catch duplicates or strays still in flight.
          await nc.flush();
          return received;
        },
        close: () => nc.close(),
      };
    },
  };
}

function postgresKafka(): Stack {
  const topicPrefixOnKafka = `${uniqueName('mcrtest')}.`;
  const pgConfig = { url: stackEnv.postgresUrl };
  return {
    name: 'postgres+kafka',
    targets: 20,
    full: false,
    registryBackend: { driver: 'postgres', config: pgConfig },
    messagingBackend: {
      driver: 'kafka',
      config: { brokers: stackEnv.kafkaBrokers, pubsubTopicPrefix: topicPrefixOnKafka },
    },
    registryDriver: (pool) => openRegistry({ driver: 'postgres', config: pgConfig }, pool),
    // Topics exist only once published to, so the consumer subscribes by pattern when asked to
    // collect, reading every topic under the prefix from the beginning.
    async listen(topicPrefix) {
      const kafka = new Kafka({ brokers: stackEnv.kafkaBrokers, logLevel: logLevel.NOTHING });
      const prefix = topicName(topicPrefixOnKafka, topicPrefix);
      let consumer: Consumer | undefined;
      const received = emptyReceived();
      return {
        async collect(identities, timeoutMs) {
          const admin = kafka.admin();
          await admin.connect();
          const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
          await admin.disconnect();
          // Map Kafka topic names back to identities through the driver's own naming.
          consumer = kafka.consumer({ groupId: uniqueName('mcr-listener'), maxWaitTimeInMs: 200 });
          await consumer.connect();
          if (topics.length > 0) {
            await consumer.subscribe({ topics, fromBeginning: true });
            await consumer.run({
              eachMessage: async ({ topic, message }) => {
                const identity = decodeKafkaIdentity(topic, topicPrefixOnKafka, topicPrefix);
                received.counts.set(identity, (received.counts.get(identity) ?? 0) + 1);
                received.payloads.add(message.value?.toString('utf8') ?? '');
              },
            });
          }
          await until(() => received.counts.size >= identities, timeoutMs);
          await new Promise((r) => setTimeout(r, 500));
          return received;
        },
        close: async () => {
          await consumer?.disconnect();
        },
      };
    },
  };
}

/** Identities use [A-Za-z0-9.-] plus `_` (encoded as _5F), so decoding the escape is enough. */
function decodeKafkaIdentity(kafkaTopic: string, kafkaPrefix: string, topicPrefix: string): string {
  const encoded = kafkaTopic.slice(topicName(kafkaPrefix, topicPrefix).length);
  return encoded.replace(/_([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

export function stacks(): Stack[] {
  const only = process.env.MCR_STACKS?.split(',');
  return [redisNats(), postgresKafka()].filter((s) => !only || only.includes(s.name));
}

/**
 * A worker config running the multicast registry on a stack, on its own task queue. With
 * `durability`, the optional durability slot is bound to the registry backend (Redis and
 * PostgreSQL both offer queue_basic), so the queue channel is available.
 */
export function workerConfig(
  taskQueue: string,
  stack: Stack,
  backendOverrides: Record<string, unknown> = {},
  options: { durability?: boolean } = {},
) {
  return {
    temporal: { address: stackEnv.temporalAddress, task_queue: taskQueue },
    worker: { http_port: 0, temporal_metrics_port: 0, shutdown_grace_time: '5s' },
    backends: {
      reg: stack.registryBackend,
      msg: { ...stack.messagingBackend, ...backendOverrides },
    },
    patterns: {
      'multicast-registry': {
        slots: { registry: 'reg', messaging: 'msg', ...(options.durability ? { durability: 'reg' } : {}) },
        activity: {
          start_to_close_timeout: '60s',
          heartbeat_timeout: '5s',
          retry: { initial_interval: '200ms', maximum_interval: '2s' },
        },
      },
    },
    logging: { level: 'info' as const },
  };
}
