// pubsub_basic over Kafka topics. publish produces to the topic (acks from all in-sync replicas,
// idempotent producer); each subscription is a consumer in a fresh consumer group of its own, so
// every subscription sees every message. A subscription starts at the end of the topic as it was
// when subscribe() was called: the consumer seeks to the high-water marks read before it joined,
// and subscribe() resolves once it has joined, so nothing published after subscribe() resolves is
// missed. The group (which commits nothing) is deleted on unsubscribe.
import { randomUUID } from 'node:crypto';
import type { Consumer, Message } from 'kafkajs';
import type {
  BatchMessage,
  Bytes,
  Headers,
  PubSubBasic,
  PubSubBatch,
  PubSubMessage,
  Subscription,
} from '../capabilities';
import { DriverError } from '../errors';
import { checkValue } from '../limits';
import { checkBatchMessages } from '../pubsub-batch';
import { joined, type KafkaClient } from './client';
import { DRIVER, guard } from './errors';
import { checkHeaders, fromKafkaHeaders, headerText, MESSAGE_ID_HEADER, withMessageId } from './headers';
import { checkName, topicName } from './names';

/** Longest a fetch waits on the broker; bounds how long unsubscribe() waits for the consumer to stop. */
const MAX_WAIT_MS = 500;

export function toBuffer(payload: Uint8Array): Buffer {
  return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
}

export class KafkaPubSub implements PubSubBasic, PubSubBatch {
  constructor(private readonly client: KafkaClient) {}

  private topic(name: string): string {
    return topicName(this.client.config.pubsubTopicPrefix, checkName('topic', name));
  }

  async publish(topic: string, payload: Bytes, headers?: Headers): Promise<{ messageId: string }> {
    const t = this.topic(topic);
    checkValue(DRIVER, payload, this.client.limits);
    const user = checkHeaders(headers);
    const messageId = randomUUID();
    await this.client.ensureTopic(t);
    await guard(`publish to ${topic}`, () =>
      this.client.producer.send({
        topic: t,
        acks: -1,
        messages: [{ value: toBuffer(payload), headers: withMessageId(user, messageId) }],
      }),
    );
    return { messageId };
  }

  /**
   * One produce request for the whole batch through the driver's idempotent producer (acks from
   * all in-sync replicas): per topic (and partition) the records keep the batch's order, and the
   * message key is the record key, so the partitioner keeps one key on one partition. A record's
   * message id (the caller's, or a random one) is its prism-message-id header.
   */
  async publishBatch(messages: BatchMessage[]): Promise<{ messageIds: string[] }> {
    // A batch names few topics: each is checked and encoded once, not once per message.
    const topics = new Map<unknown, string>();
    const checkTopic = (name: unknown): string => {
      let topic = topics.get(name);
      if (topic === undefined) topics.set(name, (topic = this.topic(name as string)));
      return topic;
    };
    const checked = checkBatchMessages(DRIVER, messages, { limits: this.client.limits, checkTopic, checkHeaders });
    const messageIds: string[] = [];
    if (checked.length === 0) return { messageIds };
    const byTopic = new Map<string, Message[]>();
    for (const m of checked) {
      const messageId = m.id ?? randomUUID();
      messageIds.push(messageId);
      let records = byTopic.get(m.topic);
      if (!records) byTopic.set(m.topic, (records = []));
      // kafkajs writes a string key as UTF-8 itself: no Buffer of it is needed.
      records.push({ key: m.key ?? null, value: toBuffer(m.value), headers: withMessageId(m.headers, messageId) });
    }
    await Promise.all([...byTopic.keys()].map((t) => this.client.ensureTopic(t)));
    await guard(`publish a batch of ${checked.length} to ${byTopic.size} topic(s)`, () =>
      this.client.producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, records]) => ({ topic, messages: records })),
      }),
    );
    return { messageIds };
  }

  async subscribe(topic: string, handler: (message: PubSubMessage) => void): Promise<Subscription> {
    const t = this.topic(topic);
    if (typeof handler !== 'function') {
      throw new DriverError(DRIVER, 'InvalidArgument', 'handler must be a function');
    }
    await this.client.ensureTopic(t);
    const groupId = `${this.client.config.groupPrefix}subscription:${t}:${randomUUID()}`;
    const { admin } = this.client;
    let consumer: Consumer | undefined;
    try {
      await guard(`subscribe to ${topic}`, async () => {
        const ends = await admin.fetchTopicOffsets(t);
        const c = this.client.consumer({ groupId, maxWaitTimeInMs: MAX_WAIT_MS });
        consumer = c;
        // Seeking from the GROUP_JOIN listener (emitted synchronously before the first fetch)
        // makes the first fetch start at the high-water marks read above.
        c.on(c.events.GROUP_JOIN, () => {
          for (const e of ends) c.seek({ topic: t, partition: e.partition, offset: e.high });
        });
        const join = joined(c, this.client.config.requestTimeoutMs);
        try {
          await c.connect();
          await c.subscribe({ topics: [t], fromBeginning: false });
          await c.run({
            autoCommit: false,
            eachMessage: async ({ message }) => {
              const m: PubSubMessage = {
                topic,
                payload: message.value ? new Uint8Array(message.value) : new Uint8Array(0),
                headers: fromKafkaHeaders(message.headers),
                messageId: headerText(message.headers, MESSAGE_ID_HEADER) ?? '',
                ...(message.key ? { key: message.key.toString('utf8') } : {}),
              };
              try {
                handler(m);
              } catch {
                // A throwing handler must not stop the subscription.
              }
            },
          });
          await join.promise;
        } finally {
          join.cancel();
        }
      });
    } catch (err) {
      if (consumer) await this.client.disconnectConsumer(consumer);
      await admin.deleteGroups([groupId]).catch(() => undefined);
      throw err;
    }
    const c = consumer as Consumer;
    let active = true;
    return {
      unsubscribe: async () => {
        if (!active) return;
        active = false;
        await this.client.disconnectConsumer(c);
        await admin.deleteGroups([groupId]).catch(() => undefined);
      },
    };
  }
}
