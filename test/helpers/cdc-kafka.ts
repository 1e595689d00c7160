// A plain kafkajs consumer for the CDC tests: reads topics from the beginning in its own group and
// keeps every record (topic, event id, message key, parsed body) in arrival order.
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { topicName } from '../../src/drivers/kafka/names';
import { stackEnv } from './env';

export interface ConsumedRecord {
  topic: string;
  /** The pipeline's topic name (before the driver's encoding). */
  name: string;
  /** The event id (the body's). */
  id: string;
  /** The Kafka driver's message id header (the event id when the sink published with pubsub_batch). */
  messageId: string;
  /** The message key: the record key, or without one as the body names it. */
  key: string;
  /** The Kafka record key (null when the producer set none). */
  recordKey: string | null;
  body: Record<string, unknown>;
}

/** The message key as the body names it (an outbox event's aggregate id, else the row key as JSON). */
function keyInBody(body: Record<string, unknown>): string {
  return typeof body.aggregateId === 'string' ? body.aggregateId : JSON.stringify(body.key ?? null);
}

export class CdcTestConsumer {
  readonly records: ConsumedRecord[] = [];
  private consumer?: Consumer;
  private readonly kafka: Kafka;

  /** brokers: a private Kafka instead of the shared one. */
  constructor(brokers: string[] = stackEnv.kafkaBrokers) {
    this.kafka = new Kafka({ clientId: 'cdc-test', brokers, logLevel: logLevel.NOTHING });
  }

  /** Creates the topics (one partition, as the driver would) and starts consuming them. */
  async start(names: string[]): Promise<void> {
    const byTopic = new Map(names.map((n) => [topicName('', n), n]));
    const admin = this.kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [...byTopic.keys()].map((topic) => ({ topic, numPartitions: 1 })),
    });
    await admin.disconnect();
    const consumer = this.kafka.consumer({
      groupId: `cdc-test-${process.pid}-${Date.now()}-${Math.random()}`,
      maxWaitTimeInMs: 200,
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [...byTopic.keys()], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        const header = (name: string): string => {
          const v = message.headers?.[name];
          return v === undefined ? '' : Array.isArray(v) ? String(v[0]) : String(v);
        };
        const recordKey = message.key ? message.key.toString('utf8') : null;
        const body = JSON.parse(message.value?.toString('utf8') ?? 'null') as Record<string, unknown>;
        this.records.push({
          topic,
          name: byTopic.get(topic) ?? topic,
          id: typeof body.id === 'string' ? body.id : '',
          messageId: header('prism-message-id'),
          key: recordKey ?? keyInBody(body),
          recordKey,
          body,
        });
      },
    });
  }

  async waitForCount(count: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.distinctIds() < count) {
      if (Date.now() > deadline) throw new Error(`expected ${count} distinct events, have ${this.distinctIds()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  distinctIds(): number {
    return new Set(this.records.map((r) => r.id)).size;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}
