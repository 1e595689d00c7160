// queue_basic over two tables. The queue table holds every live message with its visibility
// deadline (visible_at), delivery count and the receipt token of its current delivery; receive
// claims visible rows with FOR UPDATE SKIP LOCKED, so concurrent receivers never get the same
// message. Each delivery sets a fresh receipt token: an ack or nack with the receipt of an earlier
// delivery matches no row and does nothing. A message handed out maxDeliveries times without an
// ack moves (same id) to the dead-letter table: when it comes up again, or at once when nacked on
// its last delivery.
import { randomUUID } from 'node:crypto';
import type { Bytes, Headers, QueueBasic, QueueMessage } from '../capabilities';
import { DriverError } from '../errors';
import { checkLimit, checkMaxDeliveries, checkValue, DEFAULT_MAX_DELIVERIES } from '../limits';
import type { PgContext } from './context';
import { checkHeaders, checkMs, checkText, DRIVER, fromBytea, sleep, toBuffer } from './sql';

const MAX_QUEUE_NAME_BYTES = 512;
const POLL_MIN_MS = 50;
const POLL_MAX_MS = 500;

interface MessageRow {
  id: string;
  message_id: string;
  payload: Buffer;
  headers: Headers;
  delivery_count: number;
  receipt: string;
}

/** `<row id>.<token>` for a delivery; `dead.<row id>` for a dead letter. */
type Receipt = { kind: 'live'; id: string; token: string } | { kind: 'dead'; id: string };

function parseReceipt(receipt: unknown): Receipt {
  if (typeof receipt === 'string') {
    const live = /^(\d{1,19})\.([0-9a-f]{32})$/.exec(receipt);
    if (live) return { kind: 'live', id: live[1]!, token: live[2]! };
    const dead = /^dead\.(\d{1,19})$/.exec(receipt);
    if (dead) return { kind: 'dead', id: dead[1]! };
  }
  throw new DriverError(DRIVER, 'InvalidArgument', 'receipt is not one this driver handed out');
}

function toMessage(row: MessageRow, receipt: string): QueueMessage {
  return {
    messageId: row.message_id,
    payload: fromBytea(row.payload),
    headers: row.headers,
    deliveryCount: row.delivery_count,
    receipt,
  };
}

export class PgQueue implements QueueBasic {
  constructor(private readonly ctx: PgContext) {}

  private queueName(queue: unknown): string {
    return checkText('queue', queue, MAX_QUEUE_NAME_BYTES);
  }

  /** Moves rows selected by `which` (a query returning ids) to the dead-letter table. */
  private moveDead(which: string): string {
    const { queue, deadLetters } = this.ctx.tables;
    return `dead AS (
        DELETE FROM ${queue} WHERE id IN (${which})
        RETURNING id, queue, message_id, payload, headers, enqueued_at, delivery_count
      ), moved AS (
        INSERT INTO ${deadLetters} (id, queue, message_id, payload, headers, enqueued_at, delivery_count)
        SELECT id, queue, message_id, payload, headers, enqueued_at, delivery_count FROM dead
        RETURNING id
      )`;
  }

  async enqueue(queue: string, payload: Bytes, headers?: Headers): Promise<{ messageId: string }> {
    const name = this.queueName(queue);
    const body = toBuffer(checkValue(DRIVER, payload, this.ctx.limits));
    const hdrs = checkHeaders(headers);
    await this.ctx.ensure('queue');
    const messageId = randomUUID();
    await this.ctx.query(
      'enqueue',
      `INSERT INTO ${this.ctx.tables.queue} (queue, message_id, payload, headers, visible_at)
       VALUES ($1, $2, $3, $4::jsonb, now())`,
      [name, messageId, body, JSON.stringify(hdrs)],
    );
    return { messageId };
  }

  async receive(
    queue: string,
    options: { max?: number; visibilityTimeoutMs: number; waitMs?: number; maxDeliveries?: number },
  ): Promise<QueueMessage[]> {
    const name = this.queueName(queue);
    if (typeof options !== 'object' || options === null) {
      throw new DriverError(DRIVER, 'InvalidArgument', 'receive needs options with visibilityTimeoutMs');
    }
    const max = checkLimit(DRIVER, options.max, 1, 1000);
    const visibilityMs = checkMs('visibilityTimeoutMs', options.visibilityTimeoutMs, { min: 1 });
    const waitMs = checkMs('waitMs', options.waitMs, { fallback: 0 });
    const maxDeliveries = checkMaxDeliveries(DRIVER, options.maxDeliveries);
    await this.ctx.ensure('queue');
    const deadline = Date.now() + waitMs;
    let pause = POLL_MIN_MS;
    for (;;) {
      const { messages, moved } = await this.claim(name, max, visibilityMs, maxDeliveries);
      if (messages.length > 0) return messages;
      if (moved > 0) continue; // the claimed rows were all exhausted; look again at once
      const left = deadline - Date.now();
      if (left <= 0) return [];
      await sleep(Math.min(pause, left));
      pause = Math.min(pause * 2, POLL_MAX_MS);
    }
  }

  /** One claim: visible rows, oldest first; exhausted ones go to the dead letters instead. */
  private async claim(
    queue: string,
    max: number,
    visibilityMs: number,
    maxDeliveries: number,
  ): Promise<{ messages: QueueMessage[]; moved: number }> {
    const table = this.ctx.tables.queue;
    const token = randomUUID().replace(/-/g, '');
    const result = await this.ctx.query<MessageRow & { moved: number }>(
      'receive',
      `WITH claimed AS MATERIALIZED (
         SELECT id, delivery_count >= $3 AS exhausted FROM ${table}
         WHERE queue = $1 AND visible_at <= now()
         ORDER BY visible_at, id LIMIT $2
         FOR UPDATE SKIP LOCKED
       ), ${this.moveDead('SELECT id FROM claimed WHERE exhausted')},
       delivered AS (
         UPDATE ${table} AS q
         SET delivery_count = q.delivery_count + 1,
             visible_at = now() + $4::float8 * interval '1 millisecond',
             receipt = $5,
             max_deliveries = $3
         FROM claimed WHERE q.id = claimed.id AND NOT claimed.exhausted
         RETURNING q.id::text AS id, q.message_id, q.payload, q.headers, q.delivery_count, q.receipt
       )
       SELECT d.*, m.moved FROM (SELECT count(*)::int AS moved FROM moved) AS m
       LEFT JOIN delivered AS d ON true`,
      [queue, max, maxDeliveries, visibilityMs, token],
    );
    const rows = result.rows.filter((row) => row.id !== null);
    rows.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
    return {
      messages: rows.map((row) => toMessage(row, `${row.id}.${row.receipt}`)),
      moved: result.rows[0]?.moved ?? 0,
    };
  }

  async ack(queue: string, receipt: string): Promise<void> {
    const name = this.queueName(queue);
    const parsed = parseReceipt(receipt);
    await this.ctx.ensure('queue');
    if (parsed.kind === 'dead') {
      // Acking a dead letter removes it.
      await this.ctx.query('ack', `DELETE FROM ${this.ctx.tables.deadLetters} WHERE id = $1 AND queue = $2`, [
        parsed.id,
        name,
      ]);
      return;
    }
    // A stale receipt (the message was handed out again since) matches nothing: a no-op.
    await this.ctx.query('ack', `DELETE FROM ${this.ctx.tables.queue} WHERE id = $1 AND queue = $2 AND receipt = $3`, [
      parsed.id,
      name,
      parsed.token,
    ]);
  }

  async nack(queue: string, receipt: string, options: { delayMs?: number } = {}): Promise<void> {
    const name = this.queueName(queue);
    const parsed = parseReceipt(receipt);
    const delayMs = checkMs('delayMs', options?.delayMs, { fallback: 0 });
    await this.ctx.ensure('queue');
    const { queue: table, deadLetters } = this.ctx.tables;
    if (parsed.kind === 'dead') {
      // Nacking a dead letter puts it back on its queue with a fresh delivery count.
      await this.ctx.query(
        'nack',
        `WITH revived AS (DELETE FROM ${deadLetters} WHERE id = $1 AND queue = $2
                          RETURNING queue, message_id, payload, headers, enqueued_at)
         INSERT INTO ${table} (queue, message_id, payload, headers, enqueued_at, visible_at)
         SELECT queue, message_id, payload, headers, enqueued_at, now() + $3::float8 * interval '1 millisecond'
         FROM revived`,
        [parsed.id, name, delayMs],
      );
      return;
    }
    await this.ctx.query(
      'nack',
      `WITH target AS MATERIALIZED (
         SELECT id, delivery_count >= coalesce(max_deliveries, ${DEFAULT_MAX_DELIVERIES}) AS exhausted
         FROM ${table} WHERE id = $1 AND queue = $2 AND receipt = $3 FOR UPDATE
       ), ${this.moveDead('SELECT id FROM target WHERE exhausted')},
       released AS (
         UPDATE ${table} AS q SET visible_at = now() + $4::float8 * interval '1 millisecond', receipt = NULL
         FROM target WHERE q.id = target.id AND NOT target.exhausted
         RETURNING q.id
       )
       SELECT (SELECT count(*) FROM moved) AS moved, (SELECT count(*) FROM released) AS released`,
      [parsed.id, name, parsed.token, delayMs],
    );
  }

  async deadLetters(queue: string, options: { max?: number } = {}): Promise<QueueMessage[]> {
    const name = this.queueName(queue);
    const max = checkLimit(DRIVER, options?.max, 100);
    await this.ctx.ensure('queue');
    const result = await this.ctx.query<MessageRow>(
      'deadLetters',
      `SELECT id::text AS id, message_id, payload, headers, delivery_count
       FROM ${this.ctx.tables.deadLetters} WHERE queue = $1 ORDER BY dead_at, id LIMIT $2`,
      [name, max],
    );
    return result.rows.map((row) => toMessage(row, `dead.${row.id}`));
  }
}
