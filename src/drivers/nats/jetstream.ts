// JetStream plumbing shared by the queue and stream capabilities: idempotent stream and consumer
// setup, and pull requests made by hand.
//
// Pulls are raw `CONSUMER.MSG.NEXT` requests rather than the client's fetch(): fetch() waits at
// least a second and until the whole batch is filled, while a receive or read must return what is
// available now (`no_wait`), or wait only until the first message arrives.
import {
  AckPolicy,
  DeliverPolicy,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type ConsumerInfo,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { createInbox, nanos, type Msg, type MsgHdrs, type NatsConnection } from './client';
import { DriverError } from '../errors';
import { DRIVER, guard, isNotFound, JS_CODES, jsApiCode, withTimeout } from './errors';

/** Where a pulled message came from, parsed from its ack subject. */
export interface Delivery {
  stream: string;
  consumer: string;
  /** 1 on the first delivery. */
  deliveryCount: number;
  streamSeq: number;
}

export interface Pulled {
  subject: string;
  data: Uint8Array;
  headers: MsgHdrs | undefined;
  /** The ack subject: publish +ACK / -NAK / +TERM here, from any connection. */
  reply: string;
  delivery: Delivery;
}

/**
 * Parses `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>` and its v2 form
 * with `<domain>.<account hash>` after `$JS.ACK` and a random token at the end.
 */
export function parseAckSubject(reply: string): Delivery | null {
  const t = reply.split('.');
  if (t[0] !== '$JS' || t[1] !== 'ACK') return null;
  let i: number;
  if (t.length === 9) i = 2;
  else if (t.length >= 11) i = 4;
  else return null;
  const deliveryCount = Number(t[i + 2]);
  const streamSeq = Number(t[i + 3]);
  if (!Number.isSafeInteger(deliveryCount) || !Number.isSafeInteger(streamSeq)) return null;
  return { stream: t[i], consumer: t[i + 1], deliveryCount, streamSeq };
}

export function checkWait(waitMs: unknown): number {
  if (waitMs === undefined) return 0;
  if (typeof waitMs !== 'number' || !Number.isFinite(waitMs) || waitMs < 0) {
    throw new DriverError(DRIVER, 'InvalidArgument', 'waitMs must be a non-negative number');
  }
  return Math.min(waitMs, 24 * 60 * 60 * 1000);
}

type StreamSpec = Pick<StreamConfig, 'name' | 'subjects' | 'retention'>;

export class JetStreamOps {
  private readonly streams = new Map<string, Promise<void>>();

  constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    private readonly storage: 'file' | 'memory',
    readonly timeoutMs: number,
    /** JetStream replicas of the streams and bucket the driver creates (config `replicas`). */
    readonly replicas: number = 1,
  ) {}

  /** Creates the stream when missing (once per driver instance, unless forgotten). */
  ensureStream(spec: StreamSpec): Promise<void> {
    let p = this.streams.get(spec.name);
    if (!p) {
      p = this.createStream(spec);
      this.streams.set(spec.name, p);
      p.catch(() => this.streams.delete(spec.name));
    }
    return p;
  }

  /** Forgets that a stream exists (after a "not found" from the server: someone deleted it). */
  forgetStream(name: string): void {
    this.streams.delete(name);
  }

  private async createStream(spec: StreamSpec): Promise<void> {
    await guard(`create stream ${spec.name}`, async () => {
      try {
        await this.jsm.streams.info(spec.name);
        return;
      } catch (err) {
        if (jsApiCode(err) !== JS_CODES.streamNotFound) throw err;
      }
      try {
        await this.jsm.streams.add({
          ...spec,
          storage: this.storage === 'memory' ? StorageType.Memory : StorageType.File,
          num_replicas: this.replicas,
          allow_direct: true,
        });
      } catch (err) {
        // Created meanwhile by someone else: fine.
        if (jsApiCode(err) !== JS_CODES.streamNameInUse) throw err;
      }
    });
  }

  /** Stream spec helpers. */
  static limitsStream(name: string, subject: string): StreamSpec {
    return { name, subjects: [subject], retention: RetentionPolicy.Limits };
  }

  static workQueueStream(name: string, subject: string): StreamSpec {
    return { name, subjects: [subject], retention: RetentionPolicy.Workqueue };
  }

  async consumerInfo(stream: string, consumer: string): Promise<ConsumerInfo | null> {
    return guard(`consumer info ${stream}/${consumer}`, async () => {
      try {
        return await this.jsm.consumers.info(stream, consumer);
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    });
  }

  async addConsumer(stream: string, config: Partial<ConsumerConfig>): Promise<ConsumerInfo> {
    return guard(`create consumer on ${stream}`, () => this.jsm.consumers.add(stream, config));
  }

  async deleteConsumer(stream: string, consumer: string): Promise<void> {
    await guard(`delete consumer ${stream}/${consumer}`, async () => {
      try {
        await this.jsm.consumers.delete(stream, consumer);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    });
  }

  /**
   * One pull request: `no_wait` when expiresMs is 0 (what is available now), else waits up to
   * expiresMs for the batch. Resolves with the messages and the status that ended the pull (404/408:
   * no more messages; 0: batch complete).
   */
  pullOnce(stream: string, consumer: string, batch: number, expiresMs: number): Promise<Pulled[]> {
    return guard(`pull from ${stream}/${consumer}`, () => this.pullRaw(stream, consumer, batch, expiresMs));
  }

  private pullRaw(stream: string, consumer: string, batch: number, expiresMs: number): Promise<Pulled[]> {
    return new Promise<Pulled[]>((resolve, reject) => {
      const msgs: Pulled[] = [];
      const inbox = createInbox();
      let done = false;
      const finish = (err?: unknown): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        sub.unsubscribe();
        if (err) reject(err);
        else resolve(msgs);
      };
      const onMessage = (m: Msg): void => {
        const code = m.headers?.code ?? 0;
        if (code > 0 && !m.reply) {
          if (code === 100) return; // heartbeat / flow control
          if (code === 404 || code === 408) return finish();
          if (code === 503) {
            return finish(new DriverError(DRIVER, 'NotFound', `consumer ${stream}/${consumer} does not exist`));
          }
          if (code === 409 && /consumer (deleted|not found)/i.test(m.headers?.description ?? '')) {
            return finish(new DriverError(DRIVER, 'NotFound', `consumer ${stream}/${consumer} was deleted`));
          }
          if (code === 409 && msgs.length > 0) return finish();
          return finish(
            new DriverError(
              DRIVER,
              'Unavailable',
              `pull from ${stream}/${consumer}: ${code} ${m.headers?.description}`,
            ),
          );
        }
        const delivery = m.reply ? parseAckSubject(m.reply) : null;
        if (!delivery) return; // not a JetStream delivery
        msgs.push({ subject: m.subject, data: m.data, headers: m.headers, reply: m.reply as string, delivery });
        if (msgs.length >= batch) finish();
      };
      const sub = this.nc.subscribe(inbox, {
        callback: (err, m) => (err ? finish(err) : onMessage(m)),
      });
      const body = expiresMs > 0 ? { batch, expires: nanos(expiresMs) } : { batch, no_wait: true };
      const timer = setTimeout(() => {
        if (msgs.length > 0) finish();
        else finish(new DriverError(DRIVER, 'Timeout', `pull from ${stream}/${consumer} got no answer`));
      }, expiresMs + this.timeoutMs);
      try {
        this.nc.publish(`${this.js.apiPrefix}.CONSUMER.MSG.NEXT.${stream}.${consumer}`, JSON.stringify(body), {
          reply: inbox,
        });
      } catch (err) {
        finish(err);
      }
    });
  }

  /**
   * Up to `limit` accepted messages: what is available now, or when nothing is, the first to
   * arrive within waitMs (plus whatever is available then). `accept` may consume a message
   * itself (dead-lettering it) by returning false; such messages do not count.
   */
  async fetch(
    stream: string,
    consumer: string,
    limit: number,
    waitMs: number,
    accept: (m: Pulled) => Promise<boolean> = async () => true,
  ): Promise<Pulled[]> {
    const out: Pulled[] = [];
    const deadline = Date.now() + waitMs;
    const take = async (msgs: Pulled[]): Promise<void> => {
      for (const m of msgs) if (await accept(m)) out.push(m);
    };
    while (out.length < limit) {
      const want = limit - out.length;
      const now = await this.pullOnce(stream, consumer, want, 0);
      await take(now);
      if (out.length >= limit) break;
      // A full batch with some messages not accepted: more may be available.
      if (now.length === want) continue;
      if (out.length > 0) break;
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      const waited = await this.pullOnce(stream, consumer, 1, remaining);
      if (waited.length === 0) break;
      await take(waited);
    }
    return out;
  }

  /**
   * Reads up to limit messages from startSeq on, with a short-lived ephemeral consumer (no acks):
   * one round trip to create it, one pull, one delete, whatever the limit.
   */
  async readRange(stream: string, startSeq: number, limit: number, waitMs: number): Promise<Pulled[]> {
    const info = await this.addConsumer(stream, {
      ack_policy: AckPolicy.None,
      ...(startSeq > 1
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startSeq }
        : { deliver_policy: DeliverPolicy.All }),
      mem_storage: true,
      num_replicas: 1,
      inactive_threshold: nanos(Math.max(30_000, waitMs + this.timeoutMs)),
    });
    try {
      return await this.fetch(stream, info.name, limit, waitMs);
    } finally {
      await this.deleteConsumer(stream, info.name).catch(() => undefined);
    }
  }

  /** Acknowledges a delivery and waits for the server to confirm. */
  async ack(reply: string, what: string): Promise<void> {
    await guard(what, async () => {
      try {
        await this.nc.request(reply, '+ACK', { timeout: this.timeoutMs });
      } catch (err) {
        const name = (err as { name?: unknown }).name;
        if (name === 'NoResponders' || name === 'NoRespondersError' || (err as Error).message?.includes('503')) {
          throw new DriverError(DRIVER, 'NotFound', `${what}: the consumer no longer exists`, { cause: err });
        }
        throw err;
      }
    });
  }

  /** Publishes an ack-protocol message (-NAK, +TERM) and flushes it to the server. */
  async signal(reply: string, body: string, what: string): Promise<void> {
    await guard(what, async () => {
      this.nc.publish(reply, body);
      await withTimeout(this.nc.flush(), this.timeoutMs, what);
    });
  }
}
