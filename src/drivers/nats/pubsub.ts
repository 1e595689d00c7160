// pubsub_basic over core NATS: at-most-once fan-out to the subscribers connected at publish time.
// Topic `a.b.c` is subject `[<pubsubSubjectPrefix>.]a.b.c`: the topic's hierarchy is the subject's
// (see topicSubject in names.ts for the few characters escaped). The message id travels in Nats-Msg-Id,
// a publishBatch message's key in Prism-Key (base64url, so any key fits in a header).
import { randomUUID } from 'node:crypto';
import type { NatsConnection } from './client';
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
import { checkValue, type Limits } from '../limits';
import { checkBatchMessages } from '../pubsub-batch';
import { DRIVER, guard, withTimeout } from './errors';
import {
  batchHeaders,
  checkHeaders,
  fromNatsHeaders,
  internalHeader,
  MESSAGE_ID_HEADER,
  toNatsHeaders,
} from './headers';
import { checkName, topicSubject } from './names';

/** The key of a publishBatch message. */
const KEY_HEADER = 'Prism-Key';

export class NatsPubSub implements PubSubBasic, PubSubBatch {
  private readonly subscriptions = new Set<{ unsubscribe(): void }>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjectPrefix: string | undefined,
    private readonly limits: Limits,
    private readonly timeoutMs: number,
  ) {}

  /** The flush that publishes of the current tick share (see publish). */
  private sharedFlush: Promise<void> | undefined;

  /** Waits for the server to have processed everything sent so far. */
  private flush(what: string): Promise<void> {
    return withTimeout(this.nc.flush(), this.timeoutMs, what);
  }

  /**
   * One PING/PONG for every publish made in the same tick: it is sent after all of them, so its
   * PONG still proves the server processed each. Concurrent publishers (a multicast batch) stop
   * paying one round trip per message.
   */
  private flushPublished(): Promise<void> {
    this.sharedFlush ??= Promise.resolve().then(() => {
      this.sharedFlush = undefined;
      return this.flush('publish');
    });
    return this.sharedFlush;
  }

  private subject(topic: string): string {
    return topicSubject(this.subjectPrefix, topic);
  }

  async publish(topic: string, payload: Bytes, headers?: Headers): Promise<{ messageId: string }> {
    checkName('topic', topic);
    checkValue(DRIVER, payload, this.limits);
    const user = checkHeaders(headers);
    const messageId = randomUUID();
    await guard(`publish to ${topic}`, async () => {
      this.nc.publish(this.subject(topic), payload, {
        headers: toNatsHeaders(user, { [MESSAGE_ID_HEADER]: messageId }),
      });
      // Surfaces a lost connection (and server-side rejections) as an error of this call.
      await this.flushPublished();
    });
    return { messageId };
  }

  /**
   * Every message written to the connection in batch order (NATS keeps one connection's order per
   * subject), then one flush: its PONG proves the server processed them all.
   */
  async publishBatch(messages: BatchMessage[]): Promise<{ messageIds: string[] }> {
    const checked = checkBatchMessages(DRIVER, messages, {
      limits: this.limits,
      checkTopic: (topic) => checkName('topic', topic),
      checkHeaders,
    });
    const messageIds = checked.map((m) => m.id ?? randomUUID());
    if (checked.length === 0) return { messageIds };
    const headersOf = batchHeaders();
    await guard(`publish a batch of ${checked.length}`, async () => {
      checked.forEach((m, i) => {
        const internal: Record<string, string> = { [MESSAGE_ID_HEADER]: messageIds[i]! };
        if (m.key !== undefined) internal[KEY_HEADER] = Buffer.from(m.key, 'utf8').toString('base64url');
        const headers = headersOf(messages[i]?.headers, m.headers, internal);
        this.nc.publish(this.subject(m.topic), m.value, { headers });
      });
      await this.flushPublished();
    });
    return { messageIds };
  }

  async subscribe(topic: string, handler: (message: PubSubMessage) => void): Promise<Subscription> {
    checkName('topic', topic);
    if (typeof handler !== 'function') {
      throw new DriverError(DRIVER, 'InvalidArgument', 'handler must be a function');
    }
    const sub = await guard(`subscribe to ${topic}`, async () => {
      const s = this.nc.subscribe(this.subject(topic), {
        callback: (err, m) => {
          if (err) return;
          const key = internalHeader(m.headers, KEY_HEADER);
          const message: PubSubMessage = {
            topic,
            payload: new Uint8Array(m.data),
            headers: fromNatsHeaders(m.headers),
            messageId: internalHeader(m.headers, MESSAGE_ID_HEADER) ?? '',
            ...(key === undefined ? {} : { key: Buffer.from(key, 'base64url').toString('utf8') }),
          };
          try {
            handler(message);
          } catch {
            // A throwing handler must not break delivery to the others.
          }
        },
      });
      // The server has registered the subscription once the flush round trip completes.
      try {
        await this.flush(`subscribe to ${topic}`);
      } catch (err) {
        s.unsubscribe();
        throw err;
      }
      return s;
    });
    this.subscriptions.add(sub);
    let active = true;
    return {
      unsubscribe: async () => {
        if (!active) return;
        active = false;
        this.subscriptions.delete(sub);
        sub.unsubscribe();
        await guard(`unsubscribe from ${topic}`, () => this.flush(`unsubscribe from ${topic}`)).catch(() => undefined);
      },
    };
  }

  /** Stops every subscription (driver close). */
  closeAll(): void {
    for (const sub of this.subscriptions) sub.unsubscribe();
    this.subscriptions.clear();
  }
}
