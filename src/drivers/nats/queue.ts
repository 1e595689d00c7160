// queue_basic over JetStream work queues. Queue `q` is a work-queue stream
// `<queuePrefix>_<nameToken(q)>` on subject `<queueSubjectPrefix>.<encodeToken(q)>`, consumed
// through one durable pull consumer ("workers", explicit acks). Dead letters go to a separate
// limits stream `<queue stream>_DLQ` on subject `<queue subject>.dlq`, created on first use.
//
// - Visibility timeout = the consumer's ack_wait. ack_wait is per consumer, and a work-queue stream
//   admits only one consumer over its subject, so it is per queue: a receive asking for another
//   visibility timeout updates the consumer, which applies to messages in flight as well. Use one
//   visibility timeout per queue.
// - maxDeliveries is enforced by the driver, not the server (max_deliver would leave the message
//   stuck in the stream): a message delivered more often than allowed is moved to the dead-letter
//   stream (same Nats-Msg-Id, so a repeated move is de-duplicated) and then acked, when a receive
//   meets it again or when it is nacked on its last allowed delivery.
// - Receipts are self-contained (the JetStream ack subject, the visibility deadline and the
//   delivery limit, base64url-encoded), so any driver instance on any worker can ack or nack a
//   message another one received. A receipt past its visibility timeout is refused (NotFound):
//   the message may have been handed to someone else.
import { randomUUID } from 'node:crypto';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { headers as natsHeaders, nanos, type MsgHdrs } from './client';
import type { Bytes, Headers, QueueBasic, QueueMessage, QueueOptions } from '../capabilities';
import { DriverError, isDriverError } from '../errors';
import { checkLimit, checkMaxDeliveries, checkMs, checkValue, type Limits } from '../limits';
import { DRIVER, guard, isNotFound } from './errors';
import {
  checkHeaders,
  DELIVERY_COUNT_HEADER,
  fromNatsHeaders,
  internalHeader,
  MESSAGE_ID_HEADER,
  toNatsHeaders,
} from './headers';
import { checkWait, JetStreamOps, parseAckSubject, type Delivery, type Pulled } from './jetstream';
import { checkName, encodeToken, nameToken } from './names';

export interface NatsQueueOptions {
  queuePrefix: string;
  subjectPrefix: string;
  limits: Limits;
}

const CONSUMER = 'workers';
const MAX_VISIBILITY_MS = 12 * 60 * 60 * 1000;

interface QueueNames {
  name: string;
  subject: string;
  dlqName: string;
  dlqSubject: string;
}

interface Receipt {
  reply: string;
  delivery: Delivery;
  /** Epoch ms after which the receipt is no longer valid. */
  expiresAt: number;
  /** 0: no limit. */
  maxDeliveries: number;
}

function encodeReceipt(reply: string, expiresAt: number, maxDeliveries: number): string {
  return Buffer.from(JSON.stringify([reply, expiresAt, maxDeliveries]), 'utf8').toString('base64url');
}

function decodeReceipt(receipt: unknown): Receipt {
  const bad = () => new DriverError(DRIVER, 'InvalidArgument', 'not a receipt of this driver');
  if (typeof receipt !== 'string' || receipt.length === 0 || receipt.length > 4096) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(receipt, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(parsed) || parsed.length !== 3) throw bad();
  const [reply, expiresAt, maxDeliveries] = parsed as unknown[];
  if (typeof reply !== 'string' || typeof expiresAt !== 'number' || typeof maxDeliveries !== 'number') throw bad();
  const delivery = parseAckSubject(reply);
  if (!delivery) throw bad();
  return { reply, delivery, expiresAt, maxDeliveries };
}

function checkPositiveInt(what: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new DriverError(DRIVER, 'InvalidArgument', `${what} must be an integer from 1 to ${max}`);
  }
  return value;
}

export class NatsQueue implements QueueBasic {
  /** Queue stream name → the consumer's ack_wait (ms) once set up by this instance. */
  private readonly consumers = new Map<string, Promise<number>>();

  constructor(
    private readonly ops: JetStreamOps,
    private readonly options: NatsQueueOptions,
  ) {}

  private names(queue: string): QueueNames {
    checkName('queue', queue);
    const name = `${this.options.queuePrefix}_${nameToken(queue)}`;
    const subject = `${this.options.subjectPrefix}.${encodeToken(queue)}`;
    return { name, subject, dlqName: `${name}_DLQ`, dlqSubject: `${subject}.dlq` };
  }

  private ensureStream(n: QueueNames): Promise<void> {
    return this.ops.ensureStream(JetStreamOps.workQueueStream(n.name, n.subject));
  }

  /** Makes sure the queue's consumer exists with ack_wait = visibilityMs. */
  private async ensureConsumer(n: QueueNames, visibilityMs: number): Promise<void> {
    const current = this.consumers.get(n.name);
    if (current && (await current.catch(() => -1)) === visibilityMs) return;
    const setup = (async () => {
      await this.ensureStream(n);
      const info = await this.ops.consumerInfo(n.name, CONSUMER);
      if (!info) {
        try {
          await this.ops.addConsumer(n.name, {
            durable_name: CONSUMER,
            ack_policy: AckPolicy.Explicit,
            deliver_policy: DeliverPolicy.All,
            ack_wait: nanos(visibilityMs),
            max_deliver: -1,
            max_ack_pending: -1,
            // Durable: as many replicas as its stream (num_replicas 0).
            num_replicas: 0,
          });
          return visibilityMs;
        } catch (err) {
          // Created concurrently by another instance: fall through to the update.
          if (!(isDriverError(err) && err.code === 'InvalidArgument')) throw err;
        }
      } else if (info.config.ack_wait === nanos(visibilityMs)) {
        return visibilityMs;
      }
      await guard(`set visibility timeout of ${n.name}`, () =>
        this.ops.jsm.consumers.update(n.name, CONSUMER, { ack_wait: nanos(visibilityMs) }),
      );
      return visibilityMs;
    })();
    this.consumers.set(n.name, setup);
    setup.catch(() => this.consumers.delete(n.name));
    await setup;
  }

  async enqueue(queue: string, payload: Bytes, headers?: Headers): Promise<{ messageId: string }> {
    const n = this.names(queue);
    checkValue(DRIVER, payload, this.options.limits);
    const user = checkHeaders(headers);
    const messageId = randomUUID();
    const h = toNatsHeaders(user);
    const publish = () =>
      guard(`enqueue to ${queue}`, () =>
        this.ops.js.publish(n.subject, payload, {
          msgID: messageId,
          timeout: this.ops.timeoutMs,
          ...(h ? { headers: h } : {}),
        }),
      );
    await this.ensureStream(n);
    try {
      await publish();
    } catch (err) {
      if (!(isDriverError(err) && err.code === 'Unavailable' && /no responders/i.test(err.message))) throw err;
      this.ops.forgetStream(n.name);
      this.consumers.delete(n.name);
      await this.ensureStream(n);
      await publish();
    }
    return { messageId };
  }

  async receive(
    queue: string,
    options: { max?: number; visibilityTimeoutMs: number; waitMs?: number } & QueueOptions,
  ): Promise<QueueMessage[]> {
    const n = this.names(queue);
    if (typeof options !== 'object' || options === null) {
      throw new DriverError(DRIVER, 'InvalidArgument', 'receive needs options with visibilityTimeoutMs');
    }
    const max = checkLimit(DRIVER, options.max, 1, 1000);
    const visibilityMs = checkPositiveInt('visibilityTimeoutMs', options.visibilityTimeoutMs, MAX_VISIBILITY_MS);
    const waitMs = checkWait(options.waitMs);
    const maxDeliveries = checkMaxDeliveries(DRIVER, options.maxDeliveries);

    await this.ensureConsumer(n, visibilityMs);
    const accept = async (m: Pulled): Promise<boolean> => {
      if (maxDeliveries > 0 && m.delivery.deliveryCount > maxDeliveries) {
        await this.deadLetter(n, m.reply, m.data, m.headers, m.delivery.deliveryCount - 1);
        return false;
      }
      return true;
    };
    const started = Date.now();
    let msgs: Pulled[];
    try {
      msgs = await this.ops.fetch(n.name, CONSUMER, max, waitMs, accept);
    } catch (err) {
      if (!(isDriverError(err) && err.code === 'NotFound')) throw err;
      // Consumer or stream deleted behind our back: set them up again, once.
      this.consumers.delete(n.name);
      this.ops.forgetStream(n.name);
      await this.ensureConsumer(n, visibilityMs);
      msgs = await this.ops.fetch(n.name, CONSUMER, max, waitMs, accept);
    }
    const expiresAt = started + visibilityMs;
    return msgs.map((m) => ({
      messageId: internalHeader(m.headers, MESSAGE_ID_HEADER) ?? `${m.delivery.stream}:${m.delivery.streamSeq}`,
      payload: new Uint8Array(m.data),
      headers: fromNatsHeaders(m.headers),
      deliveryCount: m.delivery.deliveryCount,
      receipt: encodeReceipt(m.reply, expiresAt, maxDeliveries),
    }));
  }

  private validReceipt(queue: string, receipt: string): Receipt {
    const n = this.names(queue);
    const r = decodeReceipt(receipt);
    if (r.delivery.stream !== n.name || r.delivery.consumer !== CONSUMER) {
      throw new DriverError(DRIVER, 'InvalidArgument', `the receipt is not one of queue ${queue}`);
    }
    if (Date.now() > r.expiresAt) {
      throw new DriverError(
        DRIVER,
        'NotFound',
        `the receipt has expired (visibility timeout passed); the message may have been delivered again`,
      );
    }
    return r;
  }

  async ack(queue: string, receipt: string): Promise<void> {
    const r = this.validReceipt(queue, receipt);
    await this.ops.ack(r.reply, `ack on ${queue}`);
  }

  async nack(queue: string, receipt: string, options?: { delayMs?: number }): Promise<void> {
    const r = this.validReceipt(queue, receipt);
    const delayMs = checkMs(DRIVER, 'delayMs', options?.delayMs, { fallback: 0 });
    if (r.maxDeliveries > 0 && r.delivery.deliveryCount >= r.maxDeliveries) {
      // The last allowed delivery failed: dead-letter now rather than on the next receive.
      const n = this.names(queue);
      const stored = await guard(`nack on ${queue}`, () =>
        this.ops.jsm.streams.getMessage(n.name, { seq: r.delivery.streamSeq }),
      );
      if (stored) {
        await this.deadLetter(n, r.reply, stored.data, stored.header, r.delivery.deliveryCount);
        return;
      }
    }
    const body = delayMs > 0 ? `-NAK ${JSON.stringify({ delay: nanos(Math.round(delayMs)) })}` : '-NAK';
    await this.ops.signal(r.reply, body, `nack on ${queue}`);
  }

  /** Copies a message to the dead-letter stream, then acks it off the queue. */
  private async deadLetter(
    n: QueueNames,
    reply: string,
    data: Uint8Array,
    original: MsgHdrs | undefined,
    deliveries: number,
  ): Promise<void> {
    await this.ops.ensureStream(JetStreamOps.limitsStream(n.dlqName, n.dlqSubject));
    const h = natsHeaders();
    if (original) for (const [k, values] of original) for (const v of values) h.append(k, v);
    h.set(DELIVERY_COUNT_HEADER, String(deliveries));
    await guard(`dead-letter on ${n.name}`, () =>
      this.ops.js.publish(n.dlqSubject, data, { headers: h, timeout: this.ops.timeoutMs }),
    );
    await this.ops.ack(reply, `dead-letter on ${n.name}`);
  }

  async deadLetters(queue: string, options?: { max?: number }): Promise<QueueMessage[]> {
    const n = this.names(queue);
    const max = checkLimit(DRIVER, options?.max, 100);
    const exists = await guard(`dead letters of ${queue}`, async () => {
      try {
        await this.ops.jsm.streams.info(n.dlqName);
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    });
    if (!exists) return [];
    const msgs = await this.ops.readRange(n.dlqName, 1, max, 0);
    return msgs.map((m) => ({
      messageId: internalHeader(m.headers, MESSAGE_ID_HEADER) ?? `${m.delivery.stream}:${m.delivery.streamSeq}`,
      payload: new Uint8Array(m.data),
      headers: fromNatsHeaders(m.headers),
      deliveryCount: Number(internalHeader(m.headers, DELIVERY_COUNT_HEADER) ?? 0),
      receipt: '',
    }));
  }
}
