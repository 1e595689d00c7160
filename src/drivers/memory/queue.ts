// queue_basic in process memory. A message is ready, invisible (leased by a receive or delayed by
// a nack) or dead. When a lease runs out or is nacked, a message that has used up its deliveries
// goes to the dead letters; any other goes back to the front of the queue. A waiting receive
// sleeps until an enqueue or nack wakes it, or until the next lease runs out.
import { randomUUID } from 'node:crypto';
import type { Bytes, Headers, QueueBasic, QueueMessage, QueueOptions } from '../capabilities';
import {
  checkHeaders,
  checkLimit,
  checkMaxDeliveries,
  checkMs,
  checkName,
  checkValue,
  DEFAULT_MAX_DELIVERIES,
  type Limits,
} from '../limits';
import { parseReceipt } from '../receipt';
import { copy, DRIVER, invalid, now, type MemoryContext } from './context';

interface StoredMessage {
  id: string;
  payload: Uint8Array;
  headers: Headers;
  deliveryCount: number;
  /** The limit given by the receive that last handed it out. */
  maxDeliveries: number;
  /** The delivery a receipt must name to ack or nack; null when not leased. */
  lease: number | null;
  /** Monotonic ms when invisible (in flight or nacked with a delay); null when ready or dead. */
  visibleAt: number | null;
}

interface MemoryQueue {
  messages: Map<string, StoredMessage>;
  ready: string[];
  invisible: Set<string>;
  dead: string[];
  waiters: Set<() => void>;
}

function toQueueMessage(m: StoredMessage, receipt: string): QueueMessage {
  return {
    messageId: m.id,
    payload: copy(m.payload),
    headers: { ...m.headers },
    deliveryCount: m.deliveryCount,
    receipt,
  };
}

function waitOn(q: MemoryQueue, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      q.waiters.delete(done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    q.waiters.add(done);
  });
}

function wake(q: MemoryQueue): void {
  for (const waiter of [...q.waiters]) waiter();
}

/** Moves messages whose invisibility ran out back to the front, or to the dead letters. */
function requeueDue(q: MemoryQueue, t: number): void {
  const due: StoredMessage[] = [];
  for (const id of q.invisible) {
    const m = q.messages.get(id);
    if (!m) {
      q.invisible.delete(id);
    } else if (m.visibleAt !== null && m.visibleAt <= t) {
      q.invisible.delete(id);
      due.push(m);
    }
  }
  if (due.length === 0) return;
  due.sort((a, b) => (a.visibleAt ?? 0) - (b.visibleAt ?? 0));
  const back: string[] = [];
  for (const m of due) {
    m.visibleAt = null;
    m.lease = null;
    if (m.deliveryCount >= m.maxDeliveries) q.dead.push(m.id);
    else back.push(m.id);
  }
  q.ready.unshift(...back);
}

function take(q: MemoryQueue, max: number, visibilityMs: number, maxDeliveries: number): QueueMessage[] {
  const t = now();
  requeueDue(q, t);
  const out: QueueMessage[] = [];
  while (out.length < max) {
    const id = q.ready.shift();
    if (id === undefined) break;
    const m = q.messages.get(id);
    if (!m) continue;
    if (m.deliveryCount >= maxDeliveries) {
      q.dead.push(id);
      continue;
    }
    m.deliveryCount += 1;
    m.maxDeliveries = maxDeliveries;
    m.lease = m.deliveryCount;
    m.visibleAt = t + visibilityMs;
    q.invisible.add(id);
    out.push(toQueueMessage(m, `${id}.${m.lease}`));
  }
  return out;
}

export class MemoryQueues implements QueueBasic {
  private readonly limits: Limits;
  private readonly queues = new Map<string, MemoryQueue>();

  constructor(private readonly ctx: MemoryContext) {
    this.limits = ctx.limits;
  }

  async enqueue(queue: string, payload: Bytes, headers?: Headers): Promise<{ messageId: string }> {
    this.ctx.open();
    checkName(DRIVER, 'queue', queue, this.limits);
    checkValue(DRIVER, payload, this.limits);
    const hdrs = checkHeaders(DRIVER, headers);
    const q = this.queue(queue);
    const id = randomUUID();
    q.messages.set(id, {
      id,
      payload: copy(payload),
      headers: hdrs,
      deliveryCount: 0,
      maxDeliveries: DEFAULT_MAX_DELIVERIES,
      lease: null,
      visibleAt: null,
    });
    q.ready.push(id);
    wake(q);
    return { messageId: id };
  }

  async receive(
    queue: string,
    options: { max?: number; visibilityTimeoutMs: number; waitMs?: number } & QueueOptions,
  ): Promise<QueueMessage[]> {
    this.ctx.open();
    checkName(DRIVER, 'queue', queue, this.limits);
    if (options === null || typeof options !== 'object') throw invalid('options are required');
    const max = checkLimit(DRIVER, options.max, 1);
    const visibility = checkMs(DRIVER, 'visibilityTimeoutMs', options.visibilityTimeoutMs, { min: 1 });
    const waitMs = checkMs(DRIVER, 'waitMs', options.waitMs, { fallback: 0 });
    const maxDeliveries = checkMaxDeliveries(DRIVER, options.maxDeliveries);
    const deadline = now() + waitMs;
    const q = this.queue(queue);
    while (true) {
      const got = take(q, max, visibility, maxDeliveries);
      const t = now();
      if (got.length > 0 || this.ctx.isClosed || t >= deadline) return got;
      let wait = deadline - t;
      for (const id of q.invisible) {
        const visibleAt = q.messages.get(id)?.visibleAt;
        if (visibleAt != null) wait = Math.min(wait, visibleAt - t);
      }
      await waitOn(q, Math.max(1, Math.ceil(wait)));
    }
  }

  async ack(queue: string, receipt: string): Promise<void> {
    this.ctx.open();
    checkName(DRIVER, 'queue', queue, this.limits);
    const { id, token } = parseReceipt(DRIVER, receipt);
    const q = this.queues.get(queue);
    const message = q?.messages.get(id);
    if (!q || !message) return; // already acked: acks are idempotent
    if (token === 'dlq') {
      const at = q.dead.indexOf(id);
      if (at >= 0) {
        q.dead.splice(at, 1);
        q.messages.delete(id);
      }
      return;
    }
    // A receipt whose lease ran out and was handed to someone else no longer acks the message.
    if (message.lease === null || String(message.lease) !== token) return;
    q.messages.delete(id);
    q.invisible.delete(id);
  }

  async nack(queue: string, receipt: string, options?: { delayMs?: number }): Promise<void> {
    this.ctx.open();
    checkName(DRIVER, 'queue', queue, this.limits);
    const { id, token } = parseReceipt(DRIVER, receipt);
    const delayMs = checkMs(DRIVER, 'delayMs', options?.delayMs, { fallback: 0 });
    const q = this.queues.get(queue);
    const message = q?.messages.get(id);
    if (!q || !message || message.lease === null || String(message.lease) !== token) return;
    message.lease = null;
    if (delayMs > 0) {
      message.visibleAt = now() + delayMs;
      wake(q); // waiters recompute their timeout to the new due time
      return;
    }
    q.invisible.delete(id);
    message.visibleAt = null;
    if (message.deliveryCount >= message.maxDeliveries) q.dead.push(id);
    else q.ready.unshift(id);
    wake(q);
  }

  async deadLetters(queue: string, options?: { max?: number }): Promise<QueueMessage[]> {
    this.ctx.open();
    checkName(DRIVER, 'queue', queue, this.limits);
    const max = checkLimit(DRIVER, options?.max, 100);
    const q = this.queues.get(queue);
    if (!q) return [];
    requeueDue(q, now());
    return q.dead.slice(0, max).flatMap((id) => {
      const m = q.messages.get(id);
      return m ? [toQueueMessage(m, `${id}.dlq`)] : [];
    });
  }

  /** Moves every queue's messages whose lease ran out, though nobody receives from it. */
  sweep(): void {
    const t = now();
    for (const q of this.queues.values()) requeueDue(q, t);
  }

  /** Wakes every waiting receive (which then sees the driver closed) and forgets every queue. */
  close(): void {
    for (const q of this.queues.values()) wake(q);
    this.queues.clear();
  }

  private queue(name: string): MemoryQueue {
    let q = this.queues.get(name);
    if (!q) {
      q = { messages: new Map(), ready: [], invisible: new Set(), dead: [], waiters: new Set() };
      this.queues.set(name, q);
    }
    return q;
  }
}
