// A multicast page as one activity (sendPage), in-process on the memory driver: it takes on each
// matching identity once per multicast (a retry of the page gets the same targets), sends them in
// pubsub batches, lists the delivered ones in one report row and returns failures only; a lost
// page is accounted for without sending; a channel's outage fails only that channel's sends.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RegistryStore } from '../../../src/activities/multicast-registry/registry-store';
import { sendPage, type SendPageInput } from '../../../src/activities/multicast-registry/send-page';
import type { BatchMessage } from '../../../src/drivers/capabilities';
import type { Driver } from '../../../src/drivers/driver';
import { DriverError } from '../../../src/drivers/errors';
import { memoryDriver } from '../../../src/drivers/memory';
import type { BackendHandle } from '../../../src/runtime/backend-handle';

/** The memory driver as a slot handle, its publishBatch recorded (or failing with `outage`). */
function messaging(driver: Driver, outage?: () => Error) {
  const published: string[] = [];
  const handle = Object.assign(Object.create(driver) as Driver, {
    async publishBatch(messages: BatchMessage[]) {
      if (outage) throw outage();
      published.push(...messages.map((m) => m.topic));
      return { messageIds: messages.map((_, i) => String(i)) };
    },
  }) as unknown as BackendHandle;
  return { handle, published };
}

describe('sendPage', () => {
  let driver: Driver;
  let store: RegistryStore;
  const registry = 'pages';
  const matching = Array.from({ length: 40 }, (_, i) => `m-${String(i).padStart(2, '0')}`);
  before(async () => {
    driver = await memoryDriver.create(memoryDriver.configSchema.parse({}), { backend: 'test' });
    store = new RegistryStore(driver as never);
    for (const id of matching) await store.register({ registry, identity: id, metadata: { g: 'a' }, replace: false });
    for (let i = 0; i < 15; i++) {
      await store.register({ registry, identity: `o-${i}`, metadata: { g: 'b' }, replace: false });
    }
  });
  after(() => driver.close());

  const input = (over: Partial<SendPageInput> = {}): SendPageInput => ({
    registry,
    filter: { g: 'a' },
    cursor: null,
    limit: 1000,
    claim: { multicastId: 'run-1', token: 'run-1/0' },
    channels: ['pubsub'],
    topicPrefix: 't.',
    queuePrefix: 'q.',
    multicastId: 'wf',
    payload: 'hello',
    contentType: 'text/plain',
    delivery: 'at-least-once',
    ...over,
  });

  it('sends each matching identity once, records them in one report row, returns counts only', async () => {
    const { handle, published } = messaging(driver);
    const page = await sendPage(store, { messaging: handle }, input());
    assert.deepEqual(
      { targets: page.targets, delivered: page.delivered, failures: page.failures, cursor: page.cursor },
      { targets: 40, delivered: 40, failures: [], cursor: null },
    );
    assert.deepEqual(published.sort(), matching.map((id) => `t.${id}`).sort());
    const rows = await store.delivered({ registry, reportId: 'run-1', cursor: null, rows: 10 });
    assert.deepEqual(rows.targets.map((t) => t.identity).sort(), matching);
    assert.ok(rows.targets.every((t) => t.status === 'delivered' && t.attempts === 1));

    // The same page again (a retry: same claim token) gets the same targets; another page none.
    const again = messaging(driver);
    assert.equal((await sendPage(store, { messaging: again.handle }, input())).targets, 40);
    const other = await sendPage(
      store,
      { messaging: again.handle },
      input({ claim: { multicastId: 'run-1', token: 'run-1/1' } }),
    );
    assert.deepEqual([other.targets, other.delivered], [0, 0]);
  });

  it('pages by limit: the cursor resumes where the page stopped, no target twice', async () => {
    const { handle, published } = messaging(driver);
    let cursor: string | null = null;
    let targets = 0;
    let pages = 0;
    do {
      const page = await sendPage(
        store,
        { messaging: handle },
        input({ cursor, limit: 7, claim: { multicastId: 'run-2', token: `run-2/${pages}` } }),
      );
      targets += page.targets;
      cursor = page.cursor;
      pages += 1;
    } while (cursor !== null);
    assert.equal(targets, 40);
    assert.ok(pages >= 6, `${pages} pages of at most 7`);
    assert.deepEqual(published.sort(), matching.map((id) => `t.${id}`).sort());
  });

  it('a lost page: its targets are taken from the same claim and failed with the reason, nothing sent', async () => {
    const { handle, published } = messaging(driver);
    const page = await sendPage(
      store,
      { messaging: handle },
      input({ claim: { multicastId: 'run-3', token: 'run-3/0' }, lost: 'gone' }),
    );
    assert.deepEqual(published, []);
    assert.equal(page.targets, 40);
    assert.equal(page.delivered, 0);
    assert.ok(page.failures.every((f) => f.error === 'gone' && !f.retryable && f.channel === 'pubsub'));
    assert.equal(page.failures.length, 40);
  });

  it('a messaging outage: every target failed retryably on pubsub (at-least-once), none recorded', async () => {
    const { handle } = messaging(driver, () => new DriverError('nats', 'Unavailable', 'connection refused'));
    const page = await sendPage(
      store,
      { messaging: handle },
      input({ claim: { multicastId: 'run-4', token: 'run-4/0' } }),
    );
    assert.equal(page.delivered, 0);
    assert.equal(page.failures.length, 40);
    assert.ok(page.failures.every((f) => f.retryable && /connection refused/.test(f.error)));
    const rows = await store.delivered({ registry, reportId: 'run-4', cursor: null, rows: 10 });
    assert.deepEqual(rows.targets, []);
    const once = await sendPage(
      store,
      { messaging: handle },
      input({ claim: { multicastId: 'run-5', token: 'run-5/0' }, delivery: 'at-most-once' }),
    );
    assert.ok(
      once.failures.every((f) => !f.retryable),
      'at-most-once never retries a send',
    );
  });

  it('channel queue without the durability slot is refused before anything is claimed', async () => {
    const { handle } = messaging(driver);
    await assert.rejects(
      sendPage(
        store,
        { messaging: handle },
        input({ channels: ['queue'], claim: { multicastId: 'run-6', token: 'run-6/0' } }),
      ),
      /durability slot/,
    );
    const after6 = await sendPage(
      store,
      { messaging: handle },
      input({ claim: { multicastId: 'run-6', token: 'run-6/1' } }),
    );
    assert.equal(after6.targets, 40, 'nothing was claimed by the refused page');
  });
});
