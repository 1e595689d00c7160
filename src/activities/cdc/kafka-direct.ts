// A direct kafkajs producer for the sink, used when settings.kafkaDirect is set: one produce
// request per batch (every topic at once) with the message key as the Kafka record key. The kafka
// driver's pubsub_basic publishes one record per request and has no key, which caps a pipeline at
// a few hundred events/s; this stays until pubsub_basic offers a batch publish with keys. Topic
// names use the driver's encoding, so consumers see the same topics either way.
import type { Admin, Producer } from 'kafkajs';
import { topicName } from '../../drivers/kafka/names';
import type { OutboundMessage } from '../../workflows/cdc/events';

export interface KafkaDirectSettings {
  brokers: string[];
  /** The sink backend's pubsubTopicPrefix. */
  topicPrefix: string;
}

interface DirectProducer {
  producer: Producer;
  admin: Admin;
  ready: Promise<void>;
  topics: Map<string, Promise<unknown>>;
}

const producers = new Map<string, DirectProducer>();

function producerFor(settings: KafkaDirectSettings): DirectProducer {
  const id = settings.brokers.join(',');
  let p = producers.get(id);
  if (!p) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- kafkajs is an optional peer
    const { Kafka, logLevel } = require('kafkajs') as typeof import('kafkajs');
    const kafka = new Kafka({ clientId: 'prism-cdc', brokers: settings.brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    const admin = kafka.admin();
    const ready = Promise.all([producer.connect(), admin.connect()]).then(() => undefined);
    p = { producer, admin, ready, topics: new Map() };
    // A failed connect is retried by the next activity attempt.
    ready.catch(() => producers.delete(id));
    producers.set(id, p);
  }
  return p;
}

function ensureTopic(p: DirectProducer, topic: string): Promise<unknown> {
  let created = p.topics.get(topic);
  if (!created) {
    created = p.admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
    created.catch(() => p.topics.delete(topic));
    p.topics.set(topic, created);
  }
  return created;
}

/** Produces every message in one request (acks from all in-sync replicas), in batch order per topic. */
export async function produceDirect(
  settings: KafkaDirectSettings,
  messages: readonly OutboundMessage[],
  headersOf: (m: OutboundMessage) => Record<string, string>,
): Promise<void> {
  const p = producerFor(settings);
  await p.ready;
  const byTopic = new Map<string, OutboundMessage[]>();
  for (const m of messages) {
    const topic = topicName(settings.topicPrefix, m.topic);
    byTopic.set(topic, [...(byTopic.get(topic) ?? []), m]);
  }
  await Promise.all([...byTopic.keys()].map((t) => ensureTopic(p, t)));
  await p.producer.sendBatch({
    acks: -1,
    topicMessages: [...byTopic].map(([topic, ms]) => ({
      topic,
      messages: ms.map((m) => ({ key: m.key, value: JSON.stringify(m.body), headers: headersOf(m) })),
    })),
  });
}
