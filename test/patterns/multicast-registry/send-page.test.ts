// A multicast page as one activity (sendPage), in-process on the memory driver: it takes on each
// matching identity once per multicast (a retry of the page gets the same targets), sends them in
// pubsub batches, lists the delivered ones in one report row and returns failures only; a lost
// page is accounted for without sending; a channel's outage makes the page fail (to be retried)
// with nothing recorded. A retry whose scan started over (the registry's server restarted) leaves
// targets an earlier attempt claimed to later pages, which take each on once. Every case runs with
// the claim marks in one map per multicast (today's multicasts) and one key per target (multicasts
// begun before maps).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { MarkLayout } from '../../../src/activities/multicast-registry/claim-marks';
import { RegistryStore, type RegistryDriver } from '../../../src/activities/multicast-registry/registry-store';
import {
  CHANNEL_UNAVAILABLE,
  sendPage,
  type SendPageInput,
  type SendPageResult,
} from '../../../src/activities/multicast-registry/send-page';
import type { BatchMessage, Bytes, FieldEntry, ScanPage } from '../../../src/drivers/capabilities';
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

/** Every key under prefix, scanned to the end. */
async function keysUnder(driver: Driver, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | null = null;
  do {
    const page: ScanPage = await driver.scan!(prefix, { cursor, limit: 1000 });
    keys.push(...page.keys);
    cursor = page.cursor;
  } while (cursor !== null);
  return keys;
}

/**
 * The memory driver with a scan whose order changes when the "server" restarts, as Redis's does
 * (a new hash seed): a cursor from before the restart starts the scan over. While `writesFail`,
 * a page's closing write (its report row and record) fails, as with a server going away.
 */
function restartable(full: Driver) {
  const state = { run: 0, writesFail: false };
  const scan = async (prefix: string, options?: { cursor?: string | null; limit?: number }): Promise<ScanPage> => {
    const all = (await keysUnder(full, prefix)).sort();
    const order = state.run % 2 === 0 ? all : all.reverse();
    const [run, offset] = (options?.cursor ?? `${state.run}:0`).split(':').map(Number);
    const from = run === state.run ? offset : 0;
    const keys = order.slice(from, from + (options?.limit ?? 100));
    const next = from + keys.length;
    return { keys, cursor: next >= order.length ? null : `${state.run}:${next}` };
  };
  const restarting = () => new DriverError('redis', 'Unavailable', 'the server is restarting');
  const setMany = async (entries: { key: string; value: Bytes }[], options?: { ttlSeconds?: number }) => {
    if (state.writesFail && entries.some((e) => e.key.includes('/page/'))) throw restarting();
    return full.setMany!(entries, options);
  };
  const setFields = async (key: string, entries: FieldEntry[], options?: { ttlSeconds?: number }) => {
    if (state.writesFail && key.includes('/page/')) throw restarting();
    return full.setFields!(key, entries, options);
  };
  const driver = new Proxy(full, {
    get(target, property) {
      if (property === 'scan') return scan;
      if (property === 'setMany') return setMany;
      if (property === 'setFields') return setFields;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as unknown as RegistryDriver;
  return { driver, state };
}

/** sendPage as Temporal's attempt number `attempt` at it. */
function attemptAt(attempt: number, ...args: Parameters<typeof sendPage>): Promise<SendPageResult> {
  return new MockActivityEnvironment({ attempt }).run(sendPage, ...args);
}

for (const marks of ['map', undefined] satisfies (MarkLayout | undefined)[])
  describe(`sendPage, marks in ${marks === 'map' ? 'one map per multicast' : 'one key per target'}`, () => {
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
      ...(marks === undefined ? {} : { marks }),
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

    it('a messaging outage: the page fails retryably (at-least-once), none recorded; its retry sends all', async () => {
      const { handle } = messaging(driver, () => new DriverError('nats', 'Unavailable', 'connection refused'));
      const pageInput = input({ claim: { multicastId: 'run-4', token: 'run-4/0' } });
      await assert.rejects(
        sendPage(store, { messaging: handle }, pageInput),
        (err: unknown) =>
          err instanceof ApplicationFailure &&
          err.type === CHANNEL_UNAVAILABLE &&
          !err.nonRetryable &&
          /connection refused/.test(err.message),
      );
      const rows = await store.delivered({ registry, reportId: 'run-4', cursor: null, rows: 10 });
      assert.deepEqual(rows.targets, []);
      const back = messaging(driver);
      const retried = await attemptAt(2, store, { messaging: back.handle }, pageInput);
      assert.deepEqual([retried.targets, retried.delivered, retried.failures.length], [40, 40, 0]);
      assert.equal(back.published.length, 40);
      const once = await sendPage(
        store,
        { messaging: handle },
        input({ claim: { multicastId: 'run-5', token: 'run-5/0' }, delivery: 'at-most-once' }),
      );
      assert.ok(
        once.failures.every((f) => !f.retryable),
        'at-most-once never retries a send',
      );
      assert.equal(once.failures.length, 40, 'at-most-once: the page is accounted for, not failed');
    });

    /**
     * Pages of 7 over the registry; page 1's first attempt sends its targets, then fails as the
     * server restarts; its retry's scan starts over in another order. Returns each page's result
     * and every publish.
     */
    async function restartMidPage(delivery: 'at-least-once' | 'at-most-once') {
      const own = restartable(driver);
      const restartStore = new RegistryStore(own.driver);
      const { handle, published } = messaging(driver);
      const multicastId = `restart-${delivery}`;
      const pageInput = (cursor: string | null, page: number, lost?: string) =>
        input({ cursor, limit: 7, delivery, claim: { multicastId, token: `${multicastId}/${page}` }, lost });
      const pages: SendPageResult[] = [await sendPage(restartStore, { messaging: handle }, pageInput(null, 0))];
      const resumeAt = pages[0].cursor;
      own.state.writesFail = true;
      await assert.rejects(sendPage(restartStore, { messaging: handle }, pageInput(resumeAt, 1)), /restarting/);
      assert.equal(published.length, 14, 'the failed attempt sent its page');
      own.state.run += 1;
      own.state.writesFail = false;
      pages.push(
        delivery === 'at-least-once'
          ? await attemptAt(2, restartStore, { messaging: handle }, pageInput(resumeAt, 1))
          : await sendPage(restartStore, { messaging: handle }, pageInput(resumeAt, 1, 'lost')),
      );
      for (let cursor = pages[1].cursor; cursor !== null; cursor = pages[pages.length - 1].cursor) {
        pages.push(await sendPage(restartStore, { messaging: handle }, pageInput(cursor, pages.length)));
      }
      const rows = await restartStore.delivered({ registry, reportId: multicastId, cursor: null, rows: 100 });
      return { pages, published: published.map((topic) => topic.slice('t.'.length)), rows: rows.targets };
    }

    it('the server restarts mid-page (at-least-once): every target taken on once, those of the lost attempt later', async () => {
      const { pages, published, rows } = await restartMidPage('at-least-once');
      assert.equal(
        pages.reduce((n, p) => n + p.targets, 0),
        40,
        'targets: each identity once',
      );
      assert.equal(
        pages.reduce((n, p) => n + p.delivered, 0),
        40,
      );
      assert.deepEqual(rows.map((t) => t.identity).sort(), matching, 'each identity in one report row');
      assert.deepEqual([...new Set(published)].sort(), matching, 'every identity published');
      assert.equal(published.length, 47, "the lost attempt's 7 published again, nothing else");
    });

    it('the server restarts mid-page (at-most-once): every target accounted once, none sent twice', async () => {
      const { pages, published } = await restartMidPage('at-most-once');
      assert.equal(
        pages.reduce((n, p) => n + p.targets, 0),
        40,
      );
      assert.equal(new Set(published).size, published.length, 'no identity published twice');
      const failed = pages.flatMap((p) => p.failures);
      assert.equal(failed.length, 14, "the lost page's 7 and the 7 its first attempt took");
      assert.equal(failed.filter((f) => /earlier page that was lost/.test(f.error)).length, 7);
      assert.equal(pages.reduce((n, p) => n + p.delivered, 0) + failed.length, 40);
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

    it(`keeps the claim marks and page records in ${marks === 'map' ? 'one key each per multicast' : 'a key per target and per page'}`, async () => {
      const under = async (prefix: string) => (await keysUnder(driver, prefix)).map((key) => key.slice(prefix.length));
      const marked = await under(`mcr/${registry}/sent/`);
      const recorded = await under(`mcr/${registry}/page/`);
      const multicasts = new Set(marked.map((rest) => rest.split('/')[0]));
      assert.ok(multicasts.size >= 6, `the cases' multicasts marked targets: ${[...multicasts].join(', ')}`);
      if (marks === 'map') {
        assert.deepEqual(marked.sort(), [...multicasts].sort(), 'one key of marks per multicast');
        assert.ok(
          recorded.every((rest) => multicasts.has(rest)),
          'one key of page records per multicast',
        );
      } else {
        assert.ok(marked.length >= 40 * multicasts.size, 'a key per target');
        assert.ok(
          recorded.every((rest) => rest.includes('/')),
          'a key per page',
        );
      }
    });
  });
