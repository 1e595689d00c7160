// A plain kafkajs consumer for the CDC tests: reads topics from the beginning in its own group and
// keeps every record (topic, cdc-id, cdc-key, parsed body) in arrival order.
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { topicName } from '../../src/drivers/kafka/names';
import { stackEnv } from './env';

export interface ConsumedRecord {
  topic: string;
  /** The pipeline's topic name (before the driver's encoding). */
  name: string;
  id: string;
  key: string;
  /** The Kafka record key (null when the producer set none). */
  recordKey: string | null;
  body: Record<string, unknown>;
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
        this.records.push({
          topic,
          name: byTopic.get(topic) ?? topic,
          id: header('cdc-id'),
          key: header('cdc-key'),
          recordKey: message.key ? message.key.toString('utf8') : null,
          body: JSON.parse(message.value?.toString('utf8') ?? 'null') as Record<string, unknown>,
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
