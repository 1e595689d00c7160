// queue_basic on Redis: each queue is a handful of structures in the reserved namespace (ready
// list, invisible set, payloads, headers, counts, leases, dead letters) that only the Lua scripts
// of lua.ts touch, so every receive, ack and nack is atomic on the server. A receipt names the
// message and its delivery, so a lease that ran out and was handed on cannot be acked any more.
import { randomUUID } from 'node:crypto';
import type { Bytes, Headers, QueueBasic, QueueMessage, QueueOptions } from '../capabilities';
import { checkLimit, checkValue, type Limits } from '../limits';
import { parseReceipt } from '../receipt';
import { checkHeaders, checkMaxDeliveries, checkMs, checkName } from './checks';
import type { RedisContext } from './context';
import { DRIVER, invalid } from './errors';
import * as lua from './lua';
import { asBuffer, parseHeaders, toBuffer } from './replies';

/** Reads a flat {id, payload, headers, count, …} script reply. */
function toQueueMessages(reply: unknown, receiptFor: (id: string, count: number) => string): QueueMessage[] {
  if (!Array.isArray(reply)) return [];
  const out: QueueMessage[] = [];
  for (let i = 0; i + 3 < reply.length; i += 4) {
    const messageId = asBuffer(reply[i]).toString('utf8');
    const deliveryCount = Number(reply[i + 3]);
    out.push({
      messageId,
      payload: asBuffer(reply[i + 1]),
      headers: parseHeaders(asBuffer(reply[i + 2])),
      deliveryCount,
      receipt: receiptFor(messageId, deliveryCount),
    });
  }
  return out;
}

export class RedisQueue implements QueueBasic {
  private readonly limits: Limits;

  constructor(private readonly ctx: RedisContext) {
    this.limits = ctx.limits;
  }

  async enqueue(queue: string, payload: Bytes, headers?: Headers): Promise<{ messageId: string }> {
    return this.ctx.run(async () => {
      checkName('queue', queue, this.limits);
      checkValue(DRIVER, payload, this.limits);
      const json = JSON.stringify(checkHeaders(headers));
      const messageId = randomUUID();
      await this.ctx.eval(lua.ENQUEUE, this.queueKeys(queue), [messageId, toBuffer(payload), json]);
      return { messageId };
    });
  }

  async receive(
    queue: string,
    options: { max?: number; visibilityTimeoutMs: number; waitMs?: number } & QueueOptions,
  ): Promise<QueueMessage[]> {
    return this.ctx.run(async () => {
      checkName('queue', queue, this.limits);
      if (options === null || typeof options !== 'object') throw invalid('options are required');
      const max = checkLimit(DRIVER, options.max, 1);
      const visibility = checkMs('visibilityTimeoutMs', options.visibilityTimeoutMs, { min: 1 });
      const waitMs = checkMs('waitMs', options.waitMs, { fallback: 0 });
      const maxDeliveries = checkMaxDeliveries(options.maxDeliveries);
      const keys = this.queueKeys(queue);
      return this.ctx.poll(waitMs, async () =>
        toQueueMessages(
          await this.ctx.eval(lua.RECEIVE, keys, [max, visibility, maxDeliveries]),
          (id, count) => `${id}.${count}`,
        ),
      );
    });
  }

  /** Acks are idempotent: an already acked message, or a receipt whose lease ran out and was
   * handed to another consumer, is left alone without error. A dead letter's receipt drops it. */
  async ack(queue: string, receipt: string): Promise<void> {
    await this.ctx.run(() => {
      checkName('queue', queue, this.limits);
      const { id, token } = parseReceipt(DRIVER, receipt);
      return this.ctx.eval(lua.ACK, this.queueKeys(queue), [id, token]);
    });
  }

  async nack(queue: string, receipt: string, options?: { delayMs?: number }): Promise<void> {
    await this.ctx.run(() => {
      checkName('queue', queue, this.limits);
      const { id, token } = parseReceipt(DRIVER, receipt);
      const delay = checkMs('delayMs', options?.delayMs, { fallback: 0 });
      return this.ctx.eval(lua.NACK, this.queueKeys(queue), [id, token, delay]);
    });
  }

  async deadLetters(queue: string, options?: { max?: number }): Promise<QueueMessage[]> {
    return this.ctx.run(async () => {
      checkName('queue', queue, this.limits);
      const max = checkLimit(DRIVER, options?.max, 100);
      const reply = await this.ctx.eval(lua.DEAD_LETTERS, this.queueKeys(queue), [max]);
      return toQueueMessages(reply, (id) => `${id}.dlq`);
    });
  }

  private queueKeys(queue: string): Buffer[] {
    // Every script takes all parts: on a cluster they share the queue name's slot.
    return ['ready', 'invisible', 'payload', 'headers', 'count', 'maxd', 'lease', 'dlq'].map((part) =>
      this.ctx.internalKeyOn(queue, 'q', queue, part),
    );
  }
}
