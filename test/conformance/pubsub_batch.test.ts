// pubsub_batch: publishBatch hands every message to the backend in one call, in order per topic,
// keys and headers intact, every message reaching a live subscriber (through pubsub_basic's
// subscribe, which every driver declaring pubsub_batch also declares). Bad input fails the whole
// call before anything is sent, with an error naming the message. Delivery is awaited by bounded
// polling; "nothing arrived" is checked only after a later message on the same subscription.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { BatchMessage, PubSubMessage, Subscription } from '../../src/drivers/capabilities';
import { DEFAULT_LIMITS } from '../../src/drivers/limits';
import { uniqueName } from '../helpers/env';
import { forEachDriverWith, type DriverWith } from './harness';
import { assertBytes, assertDriverError, bytes, eventually, patterned, text, withCapability } from './support';

type Batch = DriverWith<'pubsub_batch'>;

/** Subscriptions to several topics, recording what each receives in arrival order. */
class Inboxes {
  readonly byTopic = new Map<string, PubSubMessage[]>();
  private readonly subscriptions: Subscription[] = [];

  static async open(driver: Batch, topics: string[]): Promise<Inboxes> {
    const inboxes = new Inboxes();
    const ps = withCapability(driver, 'pubsub_basic');
    for (const topic of topics) {
      const received: PubSubMessage[] = [];
      inboxes.byTopic.set(topic, received);
      inboxes.subscriptions.push(await ps.subscribe(topic, (m) => received.push(m)));
    }
    return inboxes;
  }

  of(topic: string): PubSubMessage[] {
    return this.byTopic.get(topic) ?? [];
  }

  async waitFor(topic: string, count: number): Promise<PubSubMessage[]> {
    await eventually(async () => this.of(topic).length >= count, `${count} message(s) on ${topic}`);
    return this.of(topic);
  }

  async close(): Promise<void> {
    for (const s of this.subscriptions) await s.unsubscribe().catch(() => undefined);
  }
}

forEachDriverWith('pubsub_batch', (driver) => {
  it('delivers every message once, in order per topic, with keys, headers and ids', async () => {
    const topics = [uniqueName('pb-a'), uniqueName('pb-b'), uniqueName('pb-c')];
    const inboxes = await Inboxes.open(driver(), topics);
    try {
      // Interleaved topics and keys; values of different sizes, one empty and one binary.
      const messages: BatchMessage[] = Array.from({ length: 60 }, (_, i) => ({
        topic: topics[i % 3]!,
        key: `key-${i % 5}`,
        value: i === 7 ? new Uint8Array(0) : i === 8 ? patterned(4096, 8) : bytes(`message ${i}`),
        headers: { seq: String(i), 'content-type': 'text/plain', 'x-ünïcode': 'välue ✓' },
      }));
      const { messageIds } = await driver().publishBatch(messages);
      assert.equal(messageIds.length, messages.length, 'one id per message');
      assert.equal(new Set(messageIds).size, messages.length, 'ids are distinct');
      for (const topic of topics) {
        const sent = messages.map((m, i) => ({ ...m, id: messageIds[i]! })).filter((m) => m.topic === topic);
        const received = await inboxes.waitFor(topic, sent.length);
        assert.deepEqual(
          received.map((m) => m.headers.seq),
          sent.map((m) => m.headers!.seq),
          `order on ${topic}`,
        );
        received.forEach((m, i) => {
          const s = sent[i]!;
          assert.equal(m.topic, topic);
          assert.equal(m.key, s.key, `key of message ${s.headers!.seq}`);
          assert.equal(m.messageId, s.id, `id of message ${s.headers!.seq}`);
          assert.deepEqual(m.headers, s.headers, `headers of message ${s.headers!.seq}`);
          assertBytes(m.payload, s.value, `payload of message ${s.headers!.seq}`);
        });
      }
    } finally {
      await inboxes.close();
    }
  });

  it("uses a message's own id as its message id", async () => {
    const topic = uniqueName('pb-id');
    const inboxes = await Inboxes.open(driver(), [topic]);
    try {
      const ids = [`0/1A2B3C4:1-${topic}`, `0/1A2B3C4:2-${topic}`];
      const { messageIds } = await driver().publishBatch([
        { topic, key: 'k', value: bytes('first'), id: ids[0]! },
        { topic, value: bytes('no id') },
        { topic, key: 'k', value: bytes('second'), id: ids[1]!, headers: { seq: '2' } },
      ]);
      assert.equal(messageIds[0], ids[0]);
      assert.equal(messageIds[2], ids[1]);
      assert.ok(messageIds[1] && !ids.includes(messageIds[1]), 'a message without one gets an id of its own');
      const received = await inboxes.waitFor(topic, 3);
      assert.deepEqual(
        received.map((m) => m.messageId),
        messageIds,
      );
      assert.deepEqual(
        received.map((m) => m.headers),
        [{}, {}, { seq: '2' }],
        'the id is no header of the message',
      );
      await assert.rejects(driver().publishBatch([{ topic, value: bytes('x'), id: '' }]), /messages\[0\].*id/);
    } finally {
      await inboxes.close();
    }
  });

  it('gives messages that share one headers object those headers and ids of their own', async () => {
    const topic = uniqueName('pb-shared');
    const inboxes = await Inboxes.open(driver(), [topic]);
    try {
      // Two shared objects, alternating (a multicast gives every target one), one of them with
      // headers a backend may have to carry another way (a name outside ASCII, a value with CR/LF).
      const plain = { 'content-type': 'text/plain', 'prism-multicast-id': 'mc-1' };
      const awkward = { 'x-ünïcode': 'välue ✓', multi: 'line\r\nbreak', padded: ' both ' };
      const messages: BatchMessage[] = Array.from({ length: 40 }, (_, i) => ({
        topic,
        ...(i % 4 === 3 ? { key: `key-${i}` } : {}),
        value: bytes(`shared ${i}`),
        headers: i % 2 === 0 ? plain : awkward,
      }));
      const { messageIds } = await driver().publishBatch(messages);
      assert.equal(new Set(messageIds).size, messages.length, 'ids are distinct');
      const received = await inboxes.waitFor(topic, messages.length);
      received.forEach((m, i) => {
        assert.equal(text(m.payload), `shared ${i}`, 'order');
        assert.equal(m.messageId, messageIds[i], `id of message ${i}`);
        assert.equal(m.key, messages[i]!.key, `key of message ${i}`);
        assert.deepEqual(m.headers, messages[i]!.headers, `headers of message ${i}`);
      });
    } finally {
      await inboxes.close();
    }
  });

  it('leaves the key out when the message has none, and accepts an empty batch', async () => {
    const topic = uniqueName('pb-nokey');
    const inboxes = await Inboxes.open(driver(), [topic]);
    try {
      assert.deepEqual(await driver().publishBatch([]), { messageIds: [] });
      await driver().publishBatch([{ topic, value: bytes('no key') }]);
      const [m] = await inboxes.waitFor(topic, 1);
      assert.equal(m!.key, undefined);
      assert.deepEqual(m!.headers, {});
      assert.equal(text(m!.payload), 'no key');
    } finally {
      await inboxes.close();
    }
  });

  it('refuses a batch with a value over the limit, naming the message, and sends none of it', async () => {
    const topic = uniqueName('pb-over');
    const inboxes = await Inboxes.open(driver(), [topic]);
    try {
      const batch: BatchMessage[] = [
        { topic, key: 'k', value: bytes('first, fine') },
        { topic, key: 'k', value: new Uint8Array(DEFAULT_LIMITS.maxValueBytes + 1) },
      ];
      await assertDriverError(() => driver().publishBatch(batch), 'ValueTooLarge', 'a value over the limit');
      await assert.rejects(driver().publishBatch(batch), (err: Error) => {
        assert.match(err.message, /messages\[1\]/, 'names the message');
        assert.match(err.message, new RegExp(`topic "${topic}"`), 'names its topic');
        assert.match(err.message, new RegExp(`limit of ${DEFAULT_LIMITS.maxValueBytes}`), 'names the limit');
        return true;
      });
      await assertDriverError(
        () => driver().publishBatch([{ topic, value: 'not bytes' as unknown as Uint8Array }]),
        'InvalidArgument',
        'a value that is not bytes',
      );
      await assertDriverError(
        () => driver().publishBatch([{ topic: '', value: bytes('x') }]),
        'InvalidArgument',
        'an empty topic',
      );
      await assertDriverError(
        () => driver().publishBatch([{ topic, key: 'k'.repeat(DEFAULT_LIMITS.maxKeyBytes + 1), value: bytes('x') }]),
        'KeyTooLong',
        'a key over the limit',
      );
      // Nothing of the refused batches was sent: the next message is the first to arrive.
      await driver().publishBatch([{ topic, value: bytes('after') }]);
      const received = await inboxes.waitFor(topic, 1);
      assert.deepEqual(
        received.map((m) => text(m.payload)),
        ['after'],
      );
    } finally {
      await inboxes.close();
    }
  });
});
