// The connection side of the kafka driver: the kafkajs client, one admin client and one
// idempotent producer per driver instance, topic creation, and kafkajs logging.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import {
  Kafka,
  logLevel as LogLevel,
  type Admin,
  type Consumer,
  type ConsumerConfig,
  type KafkaConfig as KafkajsConfig,
  type logCreator,
  type Producer,
} from 'kafkajs';
import { DriverError } from '../errors';
import type { Limits } from '../limits';
import type { DriverContext } from '../registry';
import type { KafkaConfig } from './config';
import { DRIVER, guard, protocolErrorType } from './errors';
import { partitioner } from './partitioner';

const LEVELS = {
  nothing: LogLevel.NOTHING,
  error: LogLevel.ERROR,
  warn: LogLevel.WARN,
  info: LogLevel.INFO,
  debug: LogLevel.DEBUG,
} as const;

const LEVEL_NAMES: Record<number, string> = {
  [LogLevel.ERROR]: 'ERROR',
  [LogLevel.WARN]: 'WARN',
  [LogLevel.INFO]: 'INFO',
  [LogLevel.DEBUG]: 'DEBUG',
};

/**
 * Namespaces whose errors kafkajs also reports to the caller (failed requests, refused
 * connections), or retries by itself (coordinator moves, rebalances): logged at debug level only.
 */
const DEMOTED_NAMESPACES = new Set(['Connection', 'BrokerPool']);

/** kafkajs log entries to stderr, one line each, tagged with the backend. */
function stderrLogger(backend: string, configured: LogLevel): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const effective = DEMOTED_NAMESPACES.has(namespace) ? LogLevel.DEBUG : level;
      if (effective > configured) return;
      const { message, error } = log as { message?: string; error?: string };
      const name = LEVEL_NAMES[effective] ?? String(effective);
      process.stderr.write(`[kafka ${backend}] ${name} ${namespace}: ${message ?? ''}${error ? ` (${error})` : ''}\n`);
    };
}

function sslOptions(ssl: KafkaConfig['ssl']): ConnectionOptions | boolean {
  if (typeof ssl === 'boolean') return ssl;
  return {
    ...(ssl.ca ? { ca: readFileSync(ssl.ca) } : {}),
    ...(ssl.cert ? { cert: readFileSync(ssl.cert) } : {}),
    ...(ssl.key ? { key: readFileSync(ssl.key) } : {}),
    ...(ssl.servername ? { servername: ssl.servername } : {}),
    rejectUnauthorized: ssl.rejectUnauthorized,
  };
}

/** Headroom for record overhead and headers above maxValueBytes in the topics' max.message.bytes. */
const RECORD_OVERHEAD = 64 * 1024;

export class KafkaClient {
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly producer: Producer;
  readonly limits: Limits;
  private readonly topics = new Map<string, Promise<void>>();
  private readonly consumers = new Set<Consumer>();

  constructor(
    readonly config: KafkaConfig,
    context: DriverContext,
  ) {
    const retry = { retries: config.retries, initialRetryTime: 100, maxRetryTime: 2_000 };
    const options: KafkajsConfig = {
      clientId: config.clientId,
      brokers: config.brokers,
      ssl: sslOptions(config.ssl),
      connectionTimeout: config.connectionTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      retry,
      logLevel: LEVELS[config.logLevel],
      logCreator: stderrLogger(context.backend, LEVELS[config.logLevel]),
    };
    if (config.sasl) options.sasl = config.sasl;
    this.kafka = new Kafka(options);
    this.admin = this.kafka.admin({ retry });
    this.producer = this.kafka.producer({
      // The Java client's murmur2 partitioner (kafkajs 2's default), chosen explicitly so kafkajs
      // does not warn about the change of default.
      createPartitioner: partitioner,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry,
    });
    this.limits = config.limits;
  }

  async connect(): Promise<void> {
    await guard('connect', async () => {
      await this.admin.connect();
      await this.producer.connect();
    });
  }

  /** Creates the topic when missing (once per driver instance). */
  ensureTopic(topic: string): Promise<void> {
    let p = this.topics.get(topic);
    if (!p) {
      p = guard(`create topic ${topic}`, async () => {
        await this.createTopic(topic);
      });
      this.topics.set(topic, p);
      p.catch(() => this.topics.delete(topic));
    }
    return p;
  }

  /**
   * createTopics waiting for leaders. On several brokers the metadata kafkajs asks for may come
   * from a broker that has not learnt of the new topic yet (UNKNOWN_TOPIC_OR_PARTITION): the topic
   * exists, so wait until some broker reports a leader for each partition.
   */
  private async createTopic(topic: string): Promise<void> {
    try {
      await this.admin.createTopics({
        waitForLeaders: true,
        timeout: this.config.requestTimeoutMs,
        topics: [
          {
            topic,
            numPartitions: this.config.topics.partitions,
            replicationFactor: this.config.topics.replicationFactor,
            configEntries: [
              { name: 'max.message.bytes', value: String(this.limits.maxValueBytes + RECORD_OVERHEAD) },
              ...(this.config.topics.minInsyncReplicas === undefined
                ? []
                : [{ name: 'min.insync.replicas', value: String(this.config.topics.minInsyncReplicas) }]),
            ],
          },
        ],
      });
    } catch (err) {
      if (protocolErrorType(err) !== 'UNKNOWN_TOPIC_OR_PARTITION') throw err;
      await this.waitForLeaders(topic);
    }
  }

  private async waitForLeaders(topic: string): Promise<void> {
    const deadline = Date.now() + this.config.requestTimeoutMs;
    for (;;) {
      try {
        const { topics } = await this.admin.fetchTopicMetadata({ topics: [topic] });
        if (topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
      } catch (err) {
        if (protocolErrorType(err) !== 'UNKNOWN_TOPIC_OR_PARTITION' || Date.now() > deadline) throw err;
      }
      if (Date.now() > deadline) {
        throw new DriverError(
          DRIVER,
          'Timeout',
          `topic ${topic} has no leader after ${this.config.requestTimeoutMs} ms`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** A consumer that close() disconnects if its owner has not. */
  consumer(config: ConsumerConfig): Consumer {
    const consumer = this.kafka.consumer({
      retry: { retries: this.config.retries, initialRetryTime: 100, maxRetryTime: 2_000 },
      allowAutoTopicCreation: false,
      ...config,
    });
    this.consumers.add(consumer);
    return consumer;
  }

  async disconnectConsumer(consumer: Consumer): Promise<void> {
    this.consumers.delete(consumer);
    await consumer.disconnect().catch(() => undefined);
  }

  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((c) => this.disconnectConsumer(c)));
    await this.producer.disconnect().catch(() => undefined);
    await this.admin.disconnect().catch(() => undefined);
  }
}

/** Resolves when the consumer has joined its group (GROUP_JOIN), rejects on crash or timeout. */
export function joined(consumer: Consumer, timeoutMs: number): { promise: Promise<void>; cancel(): void } {
  let cancel = (): void => undefined;
  const promise = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(
        Object.assign(new Error(`the consumer did not join its group within ${timeoutMs} ms`), {
          name: 'KafkaJSTimeout',
        }),
      );
    }, timeoutMs);
    const offJoin = consumer.on(consumer.events.GROUP_JOIN, () => {
      cleanup();
      resolve();
    });
    const offCrash = consumer.on(consumer.events.CRASH, (event) => {
      cleanup();
      reject(event.payload.error);
    });
    const cleanup = (): void => {
      clearTimeout(timer);
      offJoin();
      offCrash();
    };
    cancel = cleanup;
  });
  return { promise, cancel: () => cancel() };
}
