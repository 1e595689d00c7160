// pubsub_basic on Redis: PUBLISH/SUBSCRIBE, at-most-once fan-out to the subscribers connected at
// publish time. Subscriptions share one dedicated connection (a subscribed Redis connection can do
// nothing else), opened on the first subscribe. A message travels in an envelope carrying its id
// and headers; a message published by anything else is delivered whole as the payload.
import { randomUUID } from 'node:crypto';
import type { Bytes, Headers, PubSubBasic, PubSubMessage, Subscription } from '../capabilities';
import { checkValue, type Limits } from '../limits';
import { checkHeaders, checkName } from './checks';
import type { RedisClient, RedisContext } from './context';
import { DRIVER, invalid } from './errors';
import { headersFrom } from './replies';

/** Pub/sub envelope: magic, u32 length of JSON metadata, metadata, payload. */
const ENVELOPE_MAGIC = Buffer.from([0x00, 0x50, 0x52, 0x31]); // \0PR1

function encodeEnvelope(messageId: string, headers: Headers, payload: Uint8Array): Buffer {
  const meta = Buffer.from(JSON.stringify({ id: messageId, h: headers }), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(meta.length);
  return Buffer.concat([ENVELOPE_MAGIC, length, meta, payload]);
}

/** Decodes our envelope; a message published by anything else is taken whole as the payload. */
function decodeEnvelope(message: Buffer): { messageId: string; headers: Headers; payload: Buffer } {
  const start = ENVELOPE_MAGIC.length + 4;
  if (message.length >= start && message.subarray(0, ENVELOPE_MAGIC.length).equals(ENVELOPE_MAGIC)) {
    const end = start + message.readUInt32BE(ENVELOPE_MAGIC.length);
    if (end <= message.length) {
      try {
        const meta: unknown = JSON.parse(message.subarray(start, end).toString('utf8'));
        if (meta !== null && typeof meta === 'object' && typeof (meta as { id?: unknown }).id === 'string') {
          const { id, h } = meta as { id: string; h?: unknown };
          return { messageId: id, headers: headersFrom(h), payload: message.subarray(end) };
        }
      } catch {
        // not ours after all
      }
    }
  }
  return { messageId: randomUUID(), headers: {}, payload: message };
}

export class RedisPubSub implements PubSubBasic {
  private readonly limits: Limits;
  private subscriber: Promise<RedisClient> | undefined;
  private readonly handlers = new Map<string, Set<{ handler: (message: PubSubMessage) => void }>>();

  constructor(private readonly ctx: RedisContext) {
    this.limits = ctx.limits;
  }

  async publish(topic: string, payload: Bytes, headers?: Headers): Promise<{ messageId: string }> {
    return this.ctx.run(async () => {
      checkName('topic', topic, this.limits);
      checkValue(DRIVER, payload, this.limits);
      const messageId = randomUUID();
      await this.ctx.client.publish(this.channel(topic), encodeEnvelope(messageId, checkHeaders(headers), payload));
      return { messageId };
    });
  }

  /** Resolves once Redis has acknowledged SUBSCRIBE on the driver's subscriber connection. */
  async subscribe(topic: string, handler: (message: PubSubMessage) => void): Promise<Subscription> {
    return this.ctx.run(async () => {
      checkName('topic', topic, this.limits);
      if (typeof handler !== 'function') throw invalid('handler must be a function');
      const subscriber = await this.subscriberConnection();
      const channel = this.channel(topic);
      let set = this.handlers.get(channel);
      if (!set) {
        set = new Set();
        this.handlers.set(channel, set);
      }
      const entry = { handler };
      set.add(entry);
      const handlers = set;
      const release = (): boolean => {
        handlers.delete(entry);
        if (handlers.size > 0 || this.handlers.get(channel) !== handlers) return false;
        this.handlers.delete(channel);
        return true;
      };
      try {
        // Sent even when the channel is already subscribed: its acknowledgement orders this call
        // after any UNSUBSCRIBE still in flight for the channel.
        await subscriber.subscribe(channel);
      } catch (err) {
        if (release()) subscriber.unsubscribe(channel).catch(() => undefined);
        throw err;
      }
      let active = true;
      return {
        unsubscribe: async () => {
          if (!active) return;
          active = false;
          // Decided and sent synchronously, so a concurrent subscribe's SUBSCRIBE goes after it.
          if (release() && !this.ctx.isClosed) {
            await subscriber.unsubscribe(channel).catch(() => undefined);
          }
        },
      };
    });
  }

  /** Forgets every handler; returns the subscriber connection (if one was opened) for the driver to close. */
  async close(): Promise<RedisClient[]> {
    const clients = this.subscriber ? await this.subscriber.then((s) => [s]).catch(() => []) : [];
    this.handlers.clear();
    return clients;
  }

  private subscriberConnection(): Promise<RedisClient> {
    if (!this.subscriber) {
      const connecting = (async () => {
        const sub = this.ctx.client.duplicate();
        sub.on('error', (err: Error) => {
          this.ctx.lastError = err.message;
        });
        sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.dispatch(channel, message));
        try {
          await sub.connect();
        } catch (err) {
          sub.disconnect();
          throw err;
        }
        return sub;
      })();
      this.subscriber = connecting;
      connecting.catch(() => {
        if (this.subscriber === connecting) this.subscriber = undefined;
      });
    }
    return this.subscriber;
  }

  private dispatch(channelBytes: Buffer, message: Buffer): void {
    const channel = channelBytes.toString('utf8');
    const handlers = this.handlers.get(channel);
    if (!handlers || handlers.size === 0) return;
    const topic = channel.slice(this.ctx.keyPrefix.length);
    const { messageId, headers, payload } = decodeEnvelope(message);
    for (const { handler } of [...handlers]) {
      try {
        handler({ topic, payload: Buffer.from(payload), headers: { ...headers }, messageId });
      } catch (err) {
        process.emitWarning(`redis driver: a subscriber of "${topic}" threw: ${String(err)}`);
      }
    }
  }

  private channel(topic: string): string {
    return this.ctx.keyPrefix + topic;
  }
}
