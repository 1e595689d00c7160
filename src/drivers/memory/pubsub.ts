// pubsub_basic and pubsub_batch in process memory: fan-out to the handlers subscribed at publish
// time, each delivery on a later tick and in publish order, never inside publish() itself.
import { randomUUID } from 'node:crypto';
import type {
  BatchMessage,
  Bytes,
  Headers,
  PubSubBasic,
  PubSubBatch,
  PubSubMessage,
  Subscription,
} from '../capabilities';
import { checkHeaders, checkName, checkValue, type Limits } from '../limits';
import { checkBatchMessages } from '../pubsub-batch';
import { copy, DRIVER, invalid, type MemoryContext } from './context';

interface HandlerEntry {
  handler: (message: PubSubMessage) => void;
}

export class MemoryPubSub implements PubSubBasic, PubSubBatch {
  private readonly limits: Limits;
  private readonly topics = new Map<string, Set<HandlerEntry>>();

  constructor(private readonly ctx: MemoryContext) {
    this.limits = ctx.limits;
  }

  async publish(topic: string, payload: Bytes, headers?: Headers): Promise<{ messageId: string }> {
    this.ctx.open();
    checkName(DRIVER, 'topic', topic, this.limits);
    checkValue(DRIVER, payload, this.limits);
    return { messageId: this.fanOut(topic, undefined, payload, checkHeaders(DRIVER, headers)) };
  }

  /** Checked as a whole first, then fanned out in batch order. */
  async publishBatch(messages: BatchMessage[]): Promise<{ messageIds: string[] }> {
    this.ctx.open();
    const checked = checkBatchMessages(DRIVER, messages, {
      limits: this.limits,
      checkTopic: (topic) => checkName(DRIVER, 'topic', topic, this.limits),
      checkHeaders: (headers) => checkHeaders(DRIVER, headers),
    });
    return { messageIds: checked.map((m) => this.fanOut(m.topic, m.key, m.value, m.headers, m.id)) };
  }

  async subscribe(topic: string, handler: (message: PubSubMessage) => void): Promise<Subscription> {
    this.ctx.open();
    checkName(DRIVER, 'topic', topic, this.limits);
    if (typeof handler !== 'function') throw invalid('handler must be a function');
    let handlers = this.topics.get(topic);
    if (!handlers) {
      handlers = new Set();
      this.topics.set(topic, handlers);
    }
    const entry: HandlerEntry = { handler };
    handlers.add(entry);
    const set = handlers;
    return {
      unsubscribe: async () => {
        set.delete(entry);
        if (set.size === 0 && this.topics.get(topic) === set) this.topics.delete(topic);
      },
    };
  }

  clear(): void {
    this.topics.clear();
  }

  private fanOut(topic: string, key: string | undefined, payload: Bytes, headers: Headers, id?: string): string {
    const messageId = id ?? randomUUID();
    const handlers = this.topics.get(topic);
    if (handlers) {
      const data = copy(payload);
      for (const entry of handlers) {
        // Delivered on a later tick, in publish order, never inside publish().
        setImmediate(() => {
          if (!handlers.has(entry)) return;
          try {
            entry.handler({
              topic,
              payload: copy(data),
              headers: { ...headers },
              messageId,
              ...(key === undefined ? {} : { key }),
            });
          } catch (err) {
            process.emitWarning(`memory driver: a subscriber of "${topic}" threw: ${String(err)}`);
          }
        });
      }
    }
    return messageId;
  }
}
