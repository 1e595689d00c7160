// pubsub_basic: fan-out to every live subscriber with payload, headers and message id intact
// (binary, empty and large payloads), unsubscribe, topic isolation and input limits. Written
// against the PubSubBasic interface only, each case on topics of its own. Delivery is awaited by
// bounded polling; no case asserts an upper time bound, and "nothing arrived" is checked only after
// a later message on the same subscription has arrived.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Headers, PubSubMessage, Subscription } from '../../src/drivers/capabilities';
import { DEFAULT_LIMITS } from '../../src/drivers/limits';
import { uniqueName } from '../helpers/env';
import { assertBytes, assertDriverError, bytes, sleep } from './support';
import { driverUnderTest, forEachDriverWith, type DriverWith } from './harness';

type PubSub = DriverWith<'pubsub_basic'>;

const EVENTUALLY_MS = 15_000;

const everyByte = (): Uint8Array => Uint8Array.from({ length: 256 }, (_, i) => i);

/** A subscription that records what it receives. */
class Inbox {
  readonly messages: PubSubMessage[] = [];
  subscription: Subscription | undefined;

  static async open(ps: PubSub, topic: string): Promise<Inbox> {
    const inbox = new Inbox();
    inbox.subscription = await ps.subscribe(topic, (m) => inbox.messages.push(m));
    return inbox;
  }

  byId(messageId: string): PubSubMessage | undefined {
    return this.messages.find((m) => m.messageId === messageId);
  }

  /** Waits until every id has arrived (fails after EVENTUALLY_MS). */
  async waitFor(ids: string[], what: string): Promise<void> {
    const deadline = Date.now() + EVENTUALLY_MS;
    while (!ids.every((id) => this.byId(id))) {
      if (Date.now() > deadline) {
        const missing = ids.filter((id) => !this.byId(id));
        assert.fail(`${what}: ${missing.length} of ${ids.length} message(s) not delivered within ${EVENTUALLY_MS} ms`);
      }
      await sleep(20);
    }
  }

  async close(): Promise<void> {
    await this.subscription?.unsubscribe();
  }
}

async function closeAll(inboxes: Inbox[]): Promise<void> {
  for (const inbox of inboxes) {
    try {
      await inbox.close();
    } catch {
      // best effort
    }
  }
}

forEachDriverWith('pubsub_basic', (driver, name) => {
  const maxPayload = driverUnderTest(name).pubsubMaxPayloadBytes;
  const largeSize = Math.min(512 * 1024, maxPayload ?? Infinity);
  it('fans out every message to every subscriber: payload, headers, topic and id intact', async () => {
    const topic = uniqueName('ps-fanout');
    const inboxes: Inbox[] = [];
    try {
      for (let i = 0; i < 3; i++) inboxes.push(await Inbox.open(driver(), topic));
      const sent: { id: string; payload: Uint8Array; headers: Headers }[] = [];
      const cases: [Uint8Array, Headers | undefined][] = [
        [bytes('hello, subscribers'), { 'content-type': 'text/plain', 'x-trace': 'abc-123', 'x-ünïcode': 'välue ✓' }],
        [everyByte(), { empty: '' }],
        [new Uint8Array(0), undefined],
      ];
      for (const [payload, headers] of cases) {
        const { messageId } = await driver().publish(topic, payload, headers);
        assert.equal(typeof messageId, 'string');
        assert.ok(messageId.length > 0, 'messageId is empty');
        sent.push({ id: messageId, payload, headers: headers ?? {} });
      }
      for (const [n, inbox] of inboxes.entries()) {
        await inbox.waitFor(
          sent.map((s) => s.id),
          `subscriber ${n}`,
        );
        for (const s of sent) {
          const m = inbox.byId(s.id);
          assert.ok(m);
          assert.equal(m.topic, topic, `subscriber ${n}: topic`);
          assertBytes(m.payload, s.payload, `subscriber ${n}: payload of ${s.id}`);
          assert.deepEqual(m.headers, s.headers, `subscriber ${n}: headers of ${s.id}`);
        }
        const ids = inbox.messages.map((m) => m.messageId);
        assert.equal(new Set(ids).size, ids.length, `subscriber ${n} got a message twice`);
      }
    } finally {
      await closeAll(inboxes);
    }
  });

  it('gives every published message its own id', async () => {
    const topic = uniqueName('ps-ids');
    const inbox = await Inbox.open(driver(), topic);
    try {
      const ids: string[] = [];
      for (let i = 0; i < 25; i++) ids.push((await driver().publish(topic, bytes(`m${i}`))).messageId);
      assert.equal(new Set(ids).size, ids.length, 'message ids repeat');
      await inbox.waitFor(ids, 'subscriber');
      for (const [i, id] of ids.entries()) assertBytes(inbox.byId(id)?.payload, bytes(`m${i}`), `payload of m${i}`);
    } finally {
      await inbox.close();
    }
  });

  it(`delivers a large payload (${largeSize} bytes) byte for byte`, async () => {
    const topic = uniqueName('ps-large');
    const inbox = await Inbox.open(driver(), topic);
    try {
      const payload = Uint8Array.from({ length: largeSize }, (_, i) => (i * 31 + (i >> 8)) & 0xff);
      const { messageId } = await driver().publish(topic, payload, { size: 'large' });
      await inbox.waitFor([messageId], 'subscriber');
      assertBytes(inbox.byId(messageId)?.payload, payload);
      assert.deepEqual(inbox.byId(messageId)?.headers, { size: 'large' });
    } finally {
      await inbox.close();
    }
  });

  if (maxPayload !== undefined) {
    it("refuses a payload over the backend's limit with ValueTooLarge, never truncating", async () => {
      const topic = uniqueName('ps-over');
      const inbox = await Inbox.open(driver(), topic);
      try {
        await assertDriverError(
          () => driver().publish(topic, new Uint8Array(16 * 1024)),
          'ValueTooLarge',
          'over the limit',
        );
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(inbox.messages.length, 0, 'nothing delivered');
      } finally {
        await inbox.close();
      }
    });
  }

  it('stops delivering to a subscription once unsubscribe() resolves; the others keep theirs', async () => {
    const topic = uniqueName('ps-unsub');
    const leaving = await Inbox.open(driver(), topic);
    const staying = await Inbox.open(driver(), topic);
    try {
      const before = await driver().publish(topic, bytes('before'));
      await leaving.waitFor([before.messageId], 'leaving subscriber, before unsubscribing');
      await staying.waitFor([before.messageId], 'staying subscriber, before');
      await leaving.close();
      await leaving.close(); // a second unsubscribe is harmless
      const after1 = await driver().publish(topic, bytes('after 1'));
      const after2 = await driver().publish(topic, bytes('after 2'));
      await staying.waitFor([after1.messageId, after2.messageId], 'staying subscriber, after');
      // Give a wrongly delivered message the same time again to show up.
      await sleep(300);
      assert.deepEqual(
        leaving.messages.map((m) => m.messageId),
        [before.messageId],
        'nothing delivered after unsubscribe',
      );
    } finally {
      await closeAll([leaving, staying]);
    }
  });

  it('keeps topics apart, also when names contain dots, wildcards and spaces', async () => {
    const base = uniqueName('ps-apart');
    const topics = [`${base}.orders`, `${base}.*`, `${base}.>`, `${base} orders`, `${base}.orders.x`, `${base}`];
    const inboxes: Inbox[] = [];
    try {
      for (const topic of topics) inboxes.push(await Inbox.open(driver(), topic));
      const ids: string[] = [];
      for (const topic of topics) ids.push((await driver().publish(topic, bytes(`to ${topic}`))).messageId);
      for (const [i, inbox] of inboxes.entries()) {
        await inbox.waitFor([ids[i]], `subscriber of "${topics[i]}"`);
      }
      // Each topic's own message arrived after anything published before it on other topics.
      await sleep(300);
      for (const [i, inbox] of inboxes.entries()) {
        assert.deepEqual(
          inbox.messages.map((m) => m.messageId),
          [ids[i]],
          `subscriber of "${topics[i]}" got messages of other topics`,
        );
        assert.equal(inbox.messages[0]?.topic, topics[i]);
      }
    } finally {
      await closeAll(inboxes);
    }
  });

  it('rejects a payload that is not bytes or is over the size limit, and an empty topic', async () => {
    const topic = uniqueName('ps-limits');
    const inbox = await Inbox.open(driver(), topic);
    try {
      await assertDriverError(
        () => driver().publish(topic, 'not bytes' as unknown as Uint8Array),
        'InvalidArgument',
        'string payload',
      );
      await assertDriverError(
        () => driver().publish(topic, new Uint8Array(DEFAULT_LIMITS.maxValueBytes + 1)),
        'ValueTooLarge',
        'oversized payload',
      );
      await assertDriverError(() => driver().publish('', bytes('x')), 'InvalidArgument', 'publish to ""');
      await assertDriverError(() => driver().subscribe('', () => undefined), 'InvalidArgument', 'subscribe to ""');
      // Nothing of the rejected publishes was delivered: the next message is the first one.
      const marker = await driver().publish(topic, bytes('marker'));
      await inbox.waitFor([marker.messageId], 'subscriber');
      assert.deepEqual(
        inbox.messages.map((m) => m.messageId),
        [marker.messageId],
      );
    } finally {
      await inbox.close();
    }
  });
});
