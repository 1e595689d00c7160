// pubsub_basic over LISTEN/NOTIFY. A message is a JSON envelope { v, id, topic, headers, payload
// (base64) } sent with pg_notify on the topic's channel. NOTIFY payloads must be shorter than 8000
// bytes: a larger envelope is a ValueTooLarge error before anything is sent (raw payloads up to
// about 5.8 kB fit, less with large headers). Channels are identifiers of at most 63 bytes: a topic
// that fits is its own channel (so `LISTEN "topic"` in psql sees the envelopes); a longer topic
// uses `prism#` + base64url(sha256(topic)). Subscribers compare the envelope's topic, so a hash
// collision or a foreign NOTIFY on the same channel is never delivered as a message.
//
// Subscriptions share one dedicated connection per driver (LISTEN is per session). When it drops,
// it reconnects with backoff and listens again; messages published meanwhile are lost, as pub/sub
// is at-most-once anyway.
import { createHash, randomUUID } from 'node:crypto';
import type { Client, Notification } from 'pg';
import type { Bytes, Headers, PubSubBasic, PubSubMessage, Subscription } from '../capabilities';
import { DriverError } from '../errors';
import { checkValue } from '../limits';
import type { PgContext } from './context';
import { toDriverError } from './pg-errors';
import { checkHeaders, checkText, DRIVER, quoteIdent } from './sql';

/** NOTIFY rejects payloads of this many bytes or more. */
export const NOTIFY_PAYLOAD_LIMIT = 8000;
const MAX_CHANNEL_BYTES = 63;
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5000;

interface Envelope {
  v: 1;
  id: string;
  topic: string;
  headers: Headers;
  payload: string;
}

/** The NOTIFY channel of a topic. */
export function channelFor(topic: string): string {
  if (Buffer.byteLength(topic, 'utf8') <= MAX_CHANNEL_BYTES) return topic;
  return `prism#${createHash('sha256').update(topic, 'utf8').digest('base64url')}`;
}

function parseEnvelope(text: string | undefined): Envelope | null {
  if (!text) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const e = value as Partial<Envelope> | null;
  if (
    typeof e !== 'object' ||
    e === null ||
    e.v !== 1 ||
    typeof e.id !== 'string' ||
    typeof e.topic !== 'string' ||
    typeof e.payload !== 'string' ||
    typeof e.headers !== 'object' ||
    e.headers === null
  ) {
    return null;
  }
  return e as Envelope;
}

interface Entry {
  topic: string;
  handler: (message: PubSubMessage) => void;
}

export class PgPubSub implements PubSubBasic {
  private readonly listener: Listener;

  constructor(
    private readonly ctx: PgContext,
    createClient: () => Client,
  ) {
    this.listener = new Listener(createClient);
  }

  private topic(topic: unknown): string {
    return checkText('topic', topic, 4096);
  }

  async publish(topic: string, payload: Bytes, headers?: Headers): Promise<{ messageId: string }> {
    const name = this.topic(topic);
    const bytes = checkValue(DRIVER, payload, this.ctx.limits);
    const envelope: Envelope = {
      v: 1,
      id: randomUUID(),
      topic: name,
      headers: checkHeaders(headers),
      payload: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
    };
    const text = JSON.stringify(envelope);
    const size = Buffer.byteLength(text, 'utf8');
    if (size >= NOTIFY_PAYLOAD_LIMIT) {
      throw new DriverError(
        DRIVER,
        'ValueTooLarge',
        `the message envelope is ${size} bytes; NOTIFY carries less than ${NOTIFY_PAYLOAD_LIMIT} ` +
          `(payload ${bytes.byteLength} bytes, base64-encoded, plus topic and headers)`,
      );
    }
    await this.ctx.query('publish', 'SELECT pg_notify($1, $2)', [channelFor(name), text]);
    return { messageId: envelope.id };
  }

  async subscribe(topic: string, handler: (message: PubSubMessage) => void): Promise<Subscription> {
    const name = this.topic(topic);
    if (typeof handler !== 'function') throw new DriverError(DRIVER, 'InvalidArgument', 'handler must be a function');
    this.ctx.assertOpen();
    return this.listener.add({ topic: name, handler });
  }

  close(): Promise<void> {
    return this.listener.close();
  }
}

/** The dedicated LISTEN connection and the handlers per channel. */
class Listener {
  private client: Client | null = null;
  private readonly channels = new Map<string, Set<Entry>>();
  /** Serializes connect, LISTEN and UNLISTEN. */
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelay = RECONNECT_MIN_MS;

  constructor(private readonly createClient: () => Client) {}

  private serialize<T>(op: () => Promise<T>): Promise<T> {
    const next = this.chain.then(op, op);
    this.chain = next.catch(() => undefined);
    return next;
  }

  add(entry: Entry): Promise<Subscription> {
    return this.serialize(async () => {
      if (this.closed) throw new DriverError(DRIVER, 'Unavailable', 'the driver is closed');
      const channel = channelFor(entry.topic);
      const client = await this.connected();
      let entries = this.channels.get(channel);
      if (!entries) {
        try {
          await client.query(`LISTEN ${quoteIdent(channel)}`);
        } catch (err) {
          throw toDriverError(err, 'subscribe');
        }
        entries = new Set();
        this.channels.set(channel, entries);
      }
      entries.add(entry);
      let active = true;
      return {
        unsubscribe: () =>
          this.serialize(async () => {
            if (!active) return;
            active = false;
            const set = this.channels.get(channel);
            if (!set?.delete(entry) || set.size > 0) return;
            this.channels.delete(channel);
            // If the connection is gone, there is nothing to stop listening on.
            await this.client?.query(`UNLISTEN ${quoteIdent(channel)}`).catch(() => undefined);
          }),
      };
    });
  }

  /** The live client, connecting (and listening on every channel again) when there is none. */
  private async connected(): Promise<Client> {
    if (this.client) return this.client;
    const client = this.createClient();
    client.on('notification', (message) => this.dispatch(message));
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      for (const channel of this.channels.keys()) await client.query(`LISTEN ${quoteIdent(channel)}`);
    } catch (err) {
      client.end().catch(() => undefined);
      throw toDriverError(err, 'connecting the LISTEN client');
    }
    this.client = client;
    this.reconnectDelay = RECONNECT_MIN_MS;
    return client;
  }

  private lost(client: Client): void {
    if (this.client !== client) return;
    this.client = null;
    client.end().catch(() => undefined);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer || this.channels.size === 0) return;
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(delay * 2, RECONNECT_MAX_MS);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.serialize(() => this.connected()).catch(() => this.scheduleReconnect());
    }, delay);
    this.reconnectTimer.unref();
  }

  private dispatch(notification: Notification): void {
    const entries = this.channels.get(notification.channel);
    if (!entries || entries.size === 0) return;
    const envelope = parseEnvelope(notification.payload);
    if (!envelope) return;
    const payload = Buffer.from(envelope.payload, 'base64');
    for (const entry of [...entries]) {
      if (entry.topic !== envelope.topic) continue;
      try {
        entry.handler({
          topic: envelope.topic,
          payload: new Uint8Array(payload),
          headers: { ...envelope.headers },
          messageId: envelope.id,
        });
      } catch {
        // A failing handler must not stop delivery to the others.
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    await this.chain;
    const client = this.client;
    this.client = null;
    this.channels.clear();
    if (client) await client.end().catch(() => undefined);
  }
}
