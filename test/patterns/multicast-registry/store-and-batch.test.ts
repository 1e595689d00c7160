// The registry store on a backend without TTLs, CAS or batches (expiry enforced by the pattern,
// expired records deleted lazily), the publish batch's failure semantics per delivery mode, and
// the enqueue batch and inbox of the durability channel. In-process: the memory driver and a
// scripted pubsub.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { durabilityActivities } from '../../../src/activities/multicast-registry/durability-activities';
import { Inbox } from '../../../src/activities/multicast-registry/inbox';
import { messagingActivities } from '../../../src/activities/multicast-registry/messaging-activities';
import {
  CLAIM_TTL_SECONDS,
  claimPrefix,
  RegistryError,
  RegistryStore,
  type RegistryDriver,
} from '../../../src/activities/multicast-registry/registry-store';
import type { Bytes, PubSubBasic, QueueBasic } from '../../../src/drivers/capabilities';
import { DriverError } from '../../../src/drivers/errors';
import { memoryDriver } from '../../../src/drivers/memory';

async function basicOnly(): Promise<RegistryDriver & { close(): Promise<void> }> {
  const full = await memoryDriver.create(memoryDriver.configSchema.parse({}), { backend: 'test' });
  // Only keyvalue_basic + keyvalue_scan: the store must not use TTL, CAS or batch operations.
  return {
    capabilities: new Set(['keyvalue_basic', 'keyvalue_scan'] as const),
    get: (k) => full.get!(k),
    set: (k, v) => full.set!(k, v),
    delete: (k) => full.delete!(k),
    exists: (k) => full.exists!(k),
    scan: (p, o) => full.scan!(p, o),
    close: () => full.close(),
  };
}

describe('registry store without keyvalue_ttl', () => {
  it('filters expired identities out and deletes them lazily; leases renew', async () => {
    const driver = await basicOnly();
    let now = 1_000_000;
    const store = new RegistryStore(driver, () => now);
    await store.register({ registry: 'r', identity: 'a', metadata: { x: 1 }, ttlSeconds: 10, replace: false });
    await store.register({ registry: 'r', identity: 'b', metadata: { x: 1 }, ttlSeconds: 10, replace: false });
    await store.register({ registry: 'r', identity: 'c', metadata: { x: 1 }, replace: false });
    now += 5_000;
    await store.heartbeat({ registry: 'r', identity: 'b' });
    now += 6_000; // a expired, b renewed until +15 s
    const page = await store.enumerate({ registry: 'r', filter: {}, limit: 10, cursor: null });
    assert.deepEqual(page.identities.map((r) => r.identity).sort(), ['b', 'c']);
    assert.equal(await driver.exists('mcr/r/id/a'), false, 'deleted while enumerating');
    await assert.rejects(store.heartbeat({ registry: 'r', identity: 'a' }), (e: unknown) => {
      return e instanceof RegistryError && e.type === 'IdentityNotFound';
    });
    // Expired is not a conflict; live is.
    await store.register({ registry: 'r', identity: 'a', metadata: {}, replace: false });
    await assert.rejects(
      store.register({ registry: 'r', identity: 'b', metadata: {}, replace: false }),
      (e: unknown) => e instanceof RegistryError && e.type === 'IdentityConflict',
    );
    await driver.close();
  });
});

describe('registry store: a multicast claims each identity once', () => {
  it('repeats (within a page or across pages) come back once; a retried claim gets the same answer', async () => {
    const full = await memoryDriver.create(memoryDriver.configSchema.parse({}), { backend: 'test' });
    for (const driver of [await basicOnly(), full as RegistryDriver & { close(): Promise<void> }]) {
      const store = new RegistryStore(driver);
      const claim = (token: string) => ({ multicastId: 'run-1', token });
      assert.deepEqual(await store.claim('r', claim('p0'), ['a', 'b', 'a', 'c']), ['a', 'b', 'c']);
      assert.deepEqual(await store.claim('r', claim('p0'), ['a', 'b', 'c']), ['a', 'b', 'c'], 'same token: a retry');
      assert.deepEqual(await store.claim('r', claim('p1'), ['c', 'd', 'b', 'e']), ['d', 'e'], 'a later page');
      assert.deepEqual(
        await store.claim('r', { multicastId: 'run-2', token: 'p0' }, ['a']),
        ['a'],
        'another multicast',
      );
      const page = await store.enumerate({ registry: 'r', filter: {}, limit: 10, cursor: null });
      assert.deepEqual(page.identities, [], 'marks are not identities');
      await driver.close();
    }
  });

  it('marks expire when the backend has keyvalue_ttl', async () => {
    const driver = await memoryDriver.create(memoryDriver.configSchema.parse({}), { backend: 'test' });
    await new RegistryStore(driver as RegistryDriver).claim('r', { multicastId: 'm', token: 't' }, ['a']);
    const ttl = await driver.ttl!(`${claimPrefix('r', 'm')}a`);
    assert.ok(ttl !== null && ttl > 0 && ttl <= CLAIM_TTL_SECONDS, `ttl ${ttl}`);
    await driver.close();
  });
});

function scriptedPubSub(fail: (topic: string) => Error | null): PubSubBasic & { sent: string[] } {
  const sent: string[] = [];
  return {
    sent,
    async publish(topic: string, _payload: Bytes) {
      const err = fail(topic);
      if (err) throw err;
      sent.push(topic);
      return { messageId: topic };
    },
    async subscribe() {
      throw new Error('not used');
    },
  };
}

const batch = (delivery: 'at-least-once' | 'at-most-once', identities: string[]) => ({
  multicastId: 'm',
  topicPrefix: 'p.',
  identities,
  payload: 'x',
  contentType: 'text/plain',
  delivery,
});

const down = () => new DriverError('nats', 'Unavailable', 'connection refused');
const refused = () => new DriverError('nats', 'InvalidArgument', 'bad topic');

describe('publish batch', () => {
  it('reports per-target failures: transient ones retryable (at-least-once), permanent ones final', async () => {
    const pubsub = scriptedPubSub((t) => (t === 'p.b' ? down() : t === 'p.c' ? refused() : null));
    const result = await messagingActivities(pubsub).publishBatch(batch('at-least-once', ['a', 'b', 'c', 'd']));
    assert.deepEqual(pubsub.sent.sort(), ['p.a', 'p.d']);
    assert.deepEqual(result.failures.map((f) => [f.identity, f.retryable]).sort(), [
      ['b', true],
      ['c', false],
    ]);
    assert.match(result.failures.find((f) => f.identity === 'b')!.error, /connection refused/);
  });

  it('at-least-once: every target failing transiently throws (the breaker sees the outage)', async () => {
    const pubsub = scriptedPubSub(() => down());
    await assert.rejects(
      messagingActivities(pubsub).publishBatch(batch('at-least-once', ['a', 'b'])),
      (e: unknown) => e instanceof DriverError && e.code === 'Unavailable',
    );
  });

  it('at-most-once: never throws for a target and never marks one retryable', async () => {
    const pubsub = scriptedPubSub(() => down());
    const result = await messagingActivities(pubsub).publishBatch(batch('at-most-once', ['a', 'b']));
    assert.equal(result.failures.length, 2);
    assert.ok(result.failures.every((f) => !f.retryable));
  });
});

describe('enqueue batch and inbox (durability channel)', () => {
  it('queues one message per identity under the prefix; a refused name fails only its target; the inbox reads and acks', async () => {
    const queue = (await memoryDriver.create(memoryDriver.configSchema.parse({}), {
      backend: 'test',
    })) as unknown as QueueBasic & { close(): Promise<void> };
    try {
      const tooLong = 'y'.repeat(5000);
      const result = await durabilityActivities(queue).enqueueBatch({
        multicastId: 'mc-1',
        queuePrefix: 'multicast.r.',
        identities: ['a', tooLong, 'b'],
        payload: 'hello',
        contentType: 'text/plain',
        delivery: 'at-least-once',
      });
      assert.deepEqual(
        result.failures.map((f) => [f.identity, f.retryable]),
        [[tooLong, false]],
      );
      const inbox = new Inbox(queue);
      const read = (identity: string) =>
        inbox.receive({ registry: 'r', identity, max: 10, visibilityTimeoutMs: 60_000, waitMs: 0 });
      const [message, ...more] = await read('a');
      assert.deepEqual(more, []);
      assert.deepEqual(
        { payload: message.payload, contentType: message.contentType, multicastId: message.multicastId },
        { payload: 'hello', contentType: 'text/plain', multicastId: 'mc-1' },
      );
      assert.equal(message.deliveryCount, 1);
      assert.deepEqual(await inbox.ack({ registry: 'r', identity: 'a', receipt: message.receipt }), { acked: true });
      assert.deepEqual(await read('a'), []);
      assert.equal((await read('b')).length, 1);
      assert.deepEqual(await read('c'), [], 'an identity outside the batch');
    } finally {
      await queue.close();
    }
  });
});
