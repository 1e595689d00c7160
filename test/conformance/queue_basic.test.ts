// queue_basic: enqueue/receive/ack round trips, visibility timeouts and redelivery, nack (now and
// delayed), dead-lettering, stale receipts and concurrent receivers. Written against the
// QueueBasic interface only; every case uses its own queue and one visibility timeout for it (some
// backends, e.g. JetStream's ack_wait, have one per queue). Timing checks only ever assert lower
// bounds ("not before"), polling generously for "eventually", so a slow machine cannot fail them.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { QueueMessage } from '../../src/drivers/capabilities';
import { isDriverError } from '../../src/drivers/errors';
import { DEFAULT_LIMITS, DEFAULT_MAX_DELIVERIES } from '../../src/drivers/limits';
import { uniqueName } from '../helpers/env';
import { forEachDriverWith, type DriverWith } from './harness';
import { assertBytes, assertDriverError, bytes, sleep } from './support';

type Queue = DriverWith<'queue_basic'>;

const VISIBILITY_MS = 1_000;
const EVENTUALLY_MS = 20_000;

/** Receives until at least one message arrives (polling; fails after EVENTUALLY_MS). */
async function receiveSome(
  q: Queue,
  queue: string,
  options: { max?: number; visibilityTimeoutMs?: number; maxDeliveries?: number } = {},
): Promise<QueueMessage[]> {
  const deadline = Date.now() + EVENTUALLY_MS;
  while (true) {
    const messages = await q.receive(queue, {
      visibilityTimeoutMs: VISIBILITY_MS * 30,
      waitMs: 250,
      ...options,
    });
    if (messages.length > 0) return messages;
    if (Date.now() > deadline) assert.fail(`no message on ${queue} within ${EVENTUALLY_MS} ms`);
  }
}

async function receiveOne(
  q: Queue,
  queue: string,
  options: { visibilityTimeoutMs?: number; maxDeliveries?: number } = {},
): Promise<QueueMessage> {
  const messages = await receiveSome(q, queue, { ...options, max: 1 });
  assert.equal(messages.length, 1, 'receive with max 1 returned more than one message');
  return messages[0]!;
}

/** Asserts that nothing can be received right now (a short wait, no timing upper bound involved). */
async function assertEmpty(
  q: Queue,
  queue: string,
  what: string,
  options: { maxDeliveries?: number } = {},
): Promise<void> {
  const messages = await q.receive(queue, {
    visibilityTimeoutMs: VISIBILITY_MS * 30,
    waitMs: 300,
    max: 10,
    ...options,
  });
  assert.deepEqual(
    messages.map((m) => m.messageId),
    [],
    `${what}: expected no message, got ${messages.length}`,
  );
}

/** Acks whatever is left (cleanup; failures ignored). */
async function drain(q: Queue, queue: string): Promise<void> {
  try {
    for (let round = 0; round < 20; round++) {
      const messages = await q.receive(queue, { visibilityTimeoutMs: 30_000, waitMs: 0, max: 100 });
      if (messages.length === 0) return;
      for (const m of messages) await q.ack(queue, m.receipt);
    }
  } catch {
    // best effort
  }
}

forEachDriverWith('queue_basic', (driver) => {
  it('round-trips payload, headers and message id; ack removes the message', async () => {
    const queue = uniqueName('q-roundtrip');
    const headers = { 'content-type': 'text/plain', 'x-trace': 'abc-123', 'x-ünïcode': 'välue ✓' };
    try {
      const { messageId } = await driver().enqueue(queue, bytes('hello, queue'), headers);
      assert.equal(typeof messageId, 'string');
      assert.ok(messageId.length > 0, 'messageId is empty');
      const m = await receiveOne(driver(), queue);
      assert.equal(m.messageId, messageId);
      assertBytes(m.payload, bytes('hello, queue'));
      assert.deepEqual(m.headers, headers);
      assert.equal(m.deliveryCount, 1);
      assert.equal(typeof m.receipt, 'string');
      assert.ok(m.receipt.length > 0, 'receipt is empty');
      await driver().ack(queue, m.receipt);
      await assertEmpty(driver(), queue, 'after ack');
    } finally {
      await drain(driver(), queue);
    }
  });

  it('round-trips an empty payload and every byte value; headers default to {}', async () => {
    const queue = uniqueName('q-binary');
    const every = Uint8Array.from({ length: 256 }, (_, i) => i);
    try {
      const empty = await driver().enqueue(queue, new Uint8Array(0));
      const binary = await driver().enqueue(queue, every, {});
      const received = new Map<string, QueueMessage>();
      const deadline = Date.now() + EVENTUALLY_MS;
      while (received.size < 2 && Date.now() < deadline) {
        for (const m of await receiveSome(driver(), queue, { max: 10 })) received.set(m.messageId, m);
      }
      assert.equal(received.size, 2, 'both messages arrive');
      assertBytes(received.get(empty.messageId)?.payload, new Uint8Array(0), 'empty payload');
      assertBytes(received.get(binary.messageId)?.payload, every, 'binary payload');
      for (const m of received.values()) {
        assert.deepEqual(m.headers, {});
        await driver().ack(queue, m.receipt);
      }
      await assertEmpty(driver(), queue, 'after acking both');
    } finally {
      await drain(driver(), queue);
    }
  });

  it('receive honours max and hands out each message once', async () => {
    const queue = uniqueName('q-max');
    const ids = new Set<string>();
    try {
      for (let i = 0; i < 5; i++) ids.add((await driver().enqueue(queue, bytes(`m${i}`))).messageId);
      const seen: QueueMessage[] = [];
      const deadline = Date.now() + EVENTUALLY_MS;
      while (seen.length < 5 && Date.now() < deadline) {
        const batch = await driver().receive(queue, { max: 2, visibilityTimeoutMs: 30_000, waitMs: 250 });
        assert.ok(batch.length <= 2, `max 2 returned ${batch.length} messages`);
        for (const m of batch) {
          seen.push(m);
          assert.equal(m.deliveryCount, 1);
        }
      }
      assert.equal(seen.length, 5, 'all five arrive');
      assert.deepEqual(new Set(seen.map((m) => m.messageId)), ids, 'exactly the enqueued messages, none twice');
      await assertEmpty(driver(), queue, 'while all five are in flight');
      for (const m of seen) await driver().ack(queue, m.receipt);
      await assertEmpty(driver(), queue, 'after acking all five');
    } finally {
      await drain(driver(), queue);
    }
  });

  it('hides a received message until its visibility timeout runs out, then redelivers it', async () => {
    const queue = uniqueName('q-visibility');
    try {
      const { messageId } = await driver().enqueue(queue, bytes('redeliver me'), { h: 'v' });
      const first = await receiveOne(driver(), queue, { visibilityTimeoutMs: VISIBILITY_MS });
      const receivedAt = Date.now();
      const again = await driver().receive(queue, { visibilityTimeoutMs: VISIBILITY_MS, waitMs: 0, max: 10 });
      // Only meaningful while the timeout surely has not run out on this (maybe slow) machine.
      if (Date.now() - receivedAt < VISIBILITY_MS / 2) {
        assert.deepEqual(
          again.map((m) => m.messageId),
          [],
          'the message is invisible during its visibility timeout',
        );
      }
      const second = await receiveOne(driver(), queue, { visibilityTimeoutMs: VISIBILITY_MS });
      // Acked at once, well within the second visibility timeout; checked afterwards.
      await driver().ack(queue, second.receipt);
      assert.ok(Date.now() - receivedAt >= VISIBILITY_MS - 250, 'not redelivered before the visibility timeout');
      assert.equal(second.messageId, messageId);
      assert.equal(first.messageId, messageId);
      assert.equal(second.deliveryCount, 2);
      assertBytes(second.payload, bytes('redeliver me'));
      assert.deepEqual(second.headers, { h: 'v' });
      await assertEmpty(driver(), queue, 'after acking the redelivery');
    } finally {
      await drain(driver(), queue);
    }
  });

  it('nack makes the message visible again at once', async () => {
    const queue = uniqueName('q-nack');
    try {
      const { messageId } = await driver().enqueue(queue, bytes('try again'));
      const first = await receiveOne(driver(), queue);
      await driver().nack(queue, first.receipt);
      const second = await receiveOne(driver(), queue);
      assert.equal(second.messageId, messageId);
      assert.equal(second.deliveryCount, 2);
      assertBytes(second.payload, bytes('try again'));
      await driver().ack(queue, second.receipt);
      await assertEmpty(driver(), queue, 'after ack');
    } finally {
      await drain(driver(), queue);
    }
  });

  it('nack with delayMs keeps the message hidden for the delay', async () => {
    const queue = uniqueName('q-nack-delay');
    const delayMs = 1_500;
    try {
      const { messageId } = await driver().enqueue(queue, bytes('later'));
      const first = await receiveOne(driver(), queue);
      await driver().nack(queue, first.receipt, { delayMs });
      const nackedAt = Date.now();
      const early = await driver().receive(queue, { visibilityTimeoutMs: 30_000, waitMs: 0, max: 10 });
      if (Date.now() - nackedAt < delayMs / 2) {
        assert.deepEqual(
          early.map((m) => m.messageId),
          [],
          'hidden during the nack delay',
        );
      }
      const second = await receiveOne(driver(), queue);
      assert.ok(Date.now() - nackedAt >= delayMs - 300, 'not redelivered before the delay');
      assert.equal(second.messageId, messageId);
      assert.equal(second.deliveryCount, 2);
      await driver().ack(queue, second.receipt);
    } finally {
      await drain(driver(), queue);
    }
  });

  // With a limit given, and with none (every driver then uses the same DEFAULT_MAX_DELIVERIES).
  for (const limit of [3, undefined]) {
    const maxDeliveries = limit ?? DEFAULT_MAX_DELIVERIES;
    const named = limit === undefined ? `the default of ${DEFAULT_MAX_DELIVERIES}` : `maxDeliveries (${limit})`;
    it(`dead-letters a message after ${named} deliveries without an ack`, async () => {
      const queue = uniqueName('q-dead');
      const options = limit === undefined ? {} : { maxDeliveries: limit };
      try {
        assert.deepEqual(await driver().deadLetters(queue), [], 'no dead letters on a fresh queue');
        const { messageId } = await driver().enqueue(queue, bytes('poison'), { reason: 'test' });
        for (let delivery = 1; delivery <= maxDeliveries; delivery++) {
          const poison = await receiveOne(driver(), queue, options);
          assert.equal(poison.messageId, messageId);
          assert.equal(poison.deliveryCount, delivery);
          await driver().nack(queue, poison.receipt);
        }
        // The poison message leaves the queue (now, or when it would be handed out again); a message
        // enqueued after it is still delivered.
        const keeper = await driver().enqueue(queue, bytes('healthy'));
        const left = await receiveSome(driver(), queue, { max: 10, ...options });
        assert.deepEqual(
          left.map((m) => m.messageId),
          [keeper.messageId],
          'only the healthy message is left',
        );
        await driver().ack(queue, left[0]!.receipt);
        await assertEmpty(driver(), queue, 'after dead-lettering', options);

        let dead: QueueMessage[] = [];
        const deadline = Date.now() + EVENTUALLY_MS;
        while (dead.length === 0 && Date.now() < deadline) {
          dead = await driver().deadLetters(queue);
          if (dead.length === 0) await sleep(100);
        }
        assert.equal(dead.length, 1, 'one dead letter');
        assert.equal(dead[0]!.messageId, messageId);
        assertBytes(dead[0]!.payload, bytes('poison'));
        assert.deepEqual(dead[0]!.headers, { reason: 'test' });
        assert.equal(dead[0]!.deliveryCount, maxDeliveries);
      } finally {
        await drain(driver(), queue);
      }
    });
  }

  it('a stale receipt from before a redelivery does not ack the new delivery', async () => {
    const queue = uniqueName('q-stale');
    try {
      const { messageId } = await driver().enqueue(queue, bytes('once'));
      const visibility = { visibilityTimeoutMs: VISIBILITY_MS };
      const first = await receiveOne(driver(), queue, visibility);
      const second = await receiveOne(driver(), queue, visibility);
      // The stale ack may be ignored or rejected with a DriverError, but must not remove the
      // message; the nack right after it (within the new visibility timeout) puts it back.
      let staleError: unknown;
      try {
        await driver().ack(queue, first.receipt);
      } catch (err) {
        staleError = err;
      }
      await driver().nack(queue, second.receipt);
      assert.ok(
        staleError === undefined || isDriverError(staleError),
        `a stale ack may only fail with a DriverError, got ${String(staleError)}`,
      );
      assert.equal(second.messageId, messageId);
      assert.equal(second.deliveryCount, 2);
      assert.notEqual(second.receipt, first.receipt, 'each delivery has its own receipt');
      const third = await receiveOne(driver(), queue, visibility);
      await driver().ack(queue, third.receipt);
      assert.equal(third.messageId, messageId, 'the message survived the stale ack');
      assert.equal(third.deliveryCount, 3);
      await assertEmpty(driver(), queue, 'after the current receipt acked it');
    } finally {
      await drain(driver(), queue);
    }
  });

  it('concurrent receivers never hold the same message at once', async () => {
    const queue = uniqueName('q-concurrent');
    const total = 30;
    try {
      const ids = new Set<string>();
      for (let i = 0; i < total; i++) ids.add((await driver().enqueue(queue, bytes(`job ${i}`))).messageId);
      const holders = new Map<string, number>();
      const receipts: string[] = [];
      const deadline = Date.now() + EVENTUALLY_MS;
      const worker = async (n: number): Promise<void> => {
        while (holders.size < total && Date.now() < deadline) {
          const batch = await driver().receive(queue, { max: 3, visibilityTimeoutMs: 60_000, waitMs: 200 });
          for (const m of batch) {
            const other = holders.get(m.messageId);
            assert.equal(other, undefined, `message ${m.messageId} handed to receivers ${other} and ${n}`);
            holders.set(m.messageId, n);
            receipts.push(m.receipt);
          }
        }
      };
      try {
        await Promise.all([0, 1, 2, 3, 4].map(worker));
      } finally {
        for (const receipt of receipts) await driver().ack(queue, receipt);
      }
      assert.equal(holders.size, total, 'every message was received');
      assert.deepEqual(new Set(holders.keys()), ids);
    } finally {
      await drain(driver(), queue);
    }
  });

  it('keeps queues apart', async () => {
    const a = uniqueName('q-apart-a');
    const b = uniqueName('q-apart-b');
    try {
      const inA = await driver().enqueue(a, bytes('for a'));
      await assertEmpty(driver(), b, 'queue b');
      const m = await receiveOne(driver(), a);
      assert.equal(m.messageId, inA.messageId);
      await driver().ack(a, m.receipt);
      assert.deepEqual(await driver().deadLetters(b), []);
    } finally {
      await drain(driver(), a);
      await drain(driver(), b);
    }
  });

  it('rejects a payload that is not bytes or is over the size limit, before enqueueing', async () => {
    const queue = uniqueName('q-limits');
    try {
      await assertDriverError(
        () => driver().enqueue(queue, 'not bytes' as unknown as Uint8Array),
        'InvalidArgument',
        'string payload',
      );
      await assertDriverError(
        () => driver().enqueue(queue, new Uint8Array(DEFAULT_LIMITS.maxValueBytes + 1)),
        'ValueTooLarge',
        'oversized payload',
      );
      await assertEmpty(driver(), queue, 'after rejected enqueues');
    } finally {
      await drain(driver(), queue);
    }
  });
});
