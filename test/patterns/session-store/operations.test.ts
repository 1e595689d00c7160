// Every operation of the session store's fast path on real Redis (two shards in one region),
// TTL expiry and sliding renewal observed, listing by user with paging, size cap and bad input.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Redis from 'ioredis';
import { SessionStore, SessionStoreError, type JsonValue } from '../../../src/client/session-store';
import { sessionKey } from '../../../src/workflows/session-store/logic';
import { stackEnv, uniqueName } from '../../helpers/env';
import { BackendPool } from '../../../src/runtime/backend-pool';
import { metricValue } from '../../helpers/guard-metrics';
import { redisDb, sleep, twoRegions } from './fixtures';

const code = (expected: string) => (err: unknown) => {
  assert.ok(err instanceof SessionStoreError, `expected a SessionStoreError, got ${String(err)}`);
  assert.equal(err.code, expected, err.message);
  return true;
};

describe('session store: operations on Redis', () => {
  let store: SessionStore;
  let small: SessionStore;
  const raw = new Map<string, Redis>();

  before(async () => {
    store = await SessionStore.connect({ region: 'a', ...twoRegions });
    small = await SessionStore.connect({ region: 'a', ...twoRegions, maxSessionBytes: 4096 });
    for (const [name, db] of [
      ['a0', 1],
      ['a1', 2],
    ] as const)
      raw.set(name, new Redis(`${stackEnv.redisUrl}/${db}`));
  });

  after(async () => {
    await store?.close();
    await small?.close();
    for (const r of raw.values()) r.disconnect();
  });

  const pttl = (sessionId: string) => raw.get(store.shardFor(sessionId).backend)!.pttl(sessionKey(sessionId));

  it('creates, reads, writes, deletes keys, extends and deletes a session', async () => {
    const userId = uniqueName('user');
    const created = await store.createSession(
      { userId, clientId: 'web', attributes: { ua: 'test' } },
      { ttlSeconds: 60 },
    );
    assert.equal(created.metadata.region, 'a');
    assert.deepEqual(created.data, {});
    assert.ok(created.expiresAt - created.createdAt === 60_000);

    const s1 = await store.setData(created.sessionId, 'cart', { items: [1, 2] });
    assert.notEqual(s1.version, created.version);
    await store.setData(created.sessionId, 'blob', new Uint8Array([0, 1, 254, 255]));
    assert.deepEqual(await store.getData(created.sessionId, 'cart'), { items: [1, 2] });
    assert.deepEqual(await store.getData(created.sessionId, 'blob'), new Uint8Array([0, 1, 254, 255]));
    assert.equal(await store.getData(created.sessionId, 'missing'), undefined);

    assert.equal(await store.deleteData(created.sessionId, 'cart'), true);
    assert.equal(await store.deleteData(created.sessionId, 'cart'), false);
    const got = await store.getSession(created.sessionId);
    assert.deepEqual(Object.keys(got.data), ['blob']);
    assert.deepEqual(got.metadata, { userId, region: 'a', clientId: 'web', attributes: { ua: 'test' } });

    const extended = await store.extend(created.sessionId, 600);
    assert.ok(extended.expiresAt >= Date.now() + 600_000, 'extend pushes the expiry');
    assert.ok((await pttl(created.sessionId)) > 600_000, 'and the key lives that long');

    await store.deleteSession(created.sessionId);
    await assert.rejects(store.getSession(created.sessionId), code('SessionNotFound'));
    await assert.rejects(store.setData(created.sessionId, 'k', 1), code('SessionNotFound'));
    await assert.rejects(store.deleteSession(created.sessionId), code('SessionNotFound'));
    assert.deepEqual((await store.listSessions({ userId })).sessions, []);
  });

  it('hands out a value of its own on every read, and reads another client’s write at once', async () => {
    const s = await store.createSession({ userId: uniqueName('user') }, { ttlSeconds: 60 });
    await store.setData(s.sessionId, 'cart', { items: [1, 2] });
    const first = (await store.getData(s.sessionId, 'cart')) as { items: number[] };
    first.items.push(3); // the caller's to change: the session is not
    // The record is unchanged, so this read reuses its decode: the value must still be a copy.
    const second = await store.getData(s.sessionId, 'cart');
    assert.deepEqual(second, { items: [1, 2] });
    assert.notEqual(second, first);
    // A JSON object may have an own "__proto__" key: it comes back as one, from a reused decode too.
    const odd = JSON.parse('{"__proto__": {"x": 1}, "list": [1, {"y": null}]}') as JsonValue;
    await store.setData(s.sessionId, 'odd', odd);
    for (let read = 0; read < 2; read++) {
      const got = await store.getData(s.sessionId, 'odd');
      assert.equal(JSON.stringify(got), JSON.stringify(odd));
      assert.equal(Object.getPrototypeOf(got), Object.prototype);
    }
    await small.setData(s.sessionId, 'cart', { items: [9] }); // another client of the same shards
    assert.deepEqual(await store.getData(s.sessionId, 'cart'), { items: [9] });
    await small.deleteSession(s.sessionId);
    await assert.rejects(store.getData(s.sessionId, 'cart'), code('SessionNotFound'));
  });

  it('expires a session after its TTL, for every operation', async () => {
    const s = await store.createSession({ userId: uniqueName('user') }, { ttlSeconds: 1 });
    await store.setData(s.sessionId, 'k', 'v');
    await sleep(1600);
    await assert.rejects(store.getSession(s.sessionId), code('SessionNotFound'));
    await assert.rejects(store.getData(s.sessionId, 'k'), code('SessionNotFound'));
    await assert.rejects(store.setData(s.sessionId, 'k', 'w'), code('SessionNotFound'));
    await assert.rejects(store.extend(s.sessionId, 10), code('SessionNotFound'));
    await assert.rejects(store.deleteData(s.sessionId, 'k'), code('SessionNotFound'));
    assert.deepEqual((await store.listSessions({ userId: s.metadata.userId })).sessions, []);
  });

  it('slides the expiry on every access: a session read often outlives its TTL, then expires', async () => {
    const s = await store.createSession({ userId: uniqueName('user') }, { ttlSeconds: 2 });
    const started = Date.now();
    for (let i = 0; i < 5; i++) {
      await sleep(900);
      const got = await store.getSession(s.sessionId); // a read alone keeps it alive
      assert.ok(got.expiresAt >= Date.now() + 1500);
      assert.ok((await pttl(s.sessionId)) > 1500, 'the read pushed the key TTL');
    }
    process.stdout.write(`# session with a 2 s TTL still alive after ${Date.now() - started} ms of reads\n`);
    assert.ok(Date.now() - started > 4000);
    await sleep(2500);
    await assert.rejects(store.getSession(s.sessionId), code('SessionNotFound'));
  });

  it('lists a user’s sessions across shards, a page at a time', async () => {
    const userId = uniqueName('user');
    const other = uniqueName('user');
    const ids = new Set<string>();
    for (let i = 0; i < 7; i++) ids.add((await store.createSession({ userId }, { ttlSeconds: 60 })).sessionId);
    await store.createSession({ userId: other }, { ttlSeconds: 60 });
    const shardsUsed = new Set([...ids].map((id) => store.shardFor(id).backend));
    process.stdout.write(`# 7 sessions of one user on shards ${[...shardsUsed].join(', ')}\n`);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Awaited<ReturnType<SessionStore['listSessions']>> = await store.listSessions({
        userId,
        limit: 3,
        cursor,
      });
      assert.ok(page.sessions.length <= 3);
      for (const s of page.sessions) {
        assert.equal(s.metadata.userId, userId);
        seen.push(s.sessionId);
      }
      cursor = page.cursor;
      pages++;
    } while (cursor !== null && pages < 20);
    assert.equal(seen.length, 7);
    assert.deepEqual(new Set(seen), ids);
    assert.ok(pages >= 3, `pages: ${pages}`);
  });

  it('refuses a write over the size cap and writes nothing', async () => {
    const s = await small.createSession({ userId: uniqueName('user') }, { ttlSeconds: 60 });
    await small.setData(s.sessionId, 'small', 'x'.repeat(100));
    const before = await small.getSession(s.sessionId);
    await assert.rejects(small.setData(s.sessionId, 'big', 'x'.repeat(5000)), (err: unknown) => {
      code('SessionTooLarge')(err);
      assert.match((err as Error).message, /over the cap of 4096; nothing was written/);
      return true;
    });
    const afterRefusal = await small.getSession(s.sessionId);
    assert.deepEqual(Object.keys(afterRefusal.data), ['small']);
    assert.equal(afterRefusal.version, before.version);

    const userId = uniqueName('user');
    await assert.rejects(
      small.createSession({ userId, attributes: { big: 'y'.repeat(5000) } }),
      code('SessionTooLarge'),
    );
    assert.deepEqual((await small.listSessions({ userId })).sessions, []);
    // The default cap is 1 MiB.
    const big = await store.createSession({ userId: uniqueName('user') });
    await assert.rejects(store.setData(big.sessionId, 'big', 'z'.repeat(1024 * 1024)), code('SessionTooLarge'));
  });

  it('gives clear errors for bad input', async () => {
    await assert.rejects(store.getSession('no-such-session'), (err: unknown) => {
      code('SessionNotFound')(err);
      assert.match((err as Error).message, /session no-such-session does not exist/);
      return true;
    });
    for (const ttlSeconds of [0, -5, 1.5, Number.NaN, 10 ** 9, '60' as unknown as number]) {
      await assert.rejects(store.createSession({ userId: 'u' }, { ttlSeconds }), code('InvalidTtl'));
    }
    const s = await store.createSession({ userId: uniqueName('user') }, { ttlSeconds: 60 });
    await assert.rejects(store.extend(s.sessionId, 0), code('InvalidTtl'));
    await assert.rejects(store.createSession({ userId: 'u', region: 'mars' }), (err: unknown) => {
      code('UnknownRegion')(err);
      assert.match((err as Error).message, /unknown region "mars" \(regions: a, b\)/);
      return true;
    });
    await assert.rejects(store.listSessions({ region: 'mars' }), code('UnknownRegion'));
    await assert.rejects(store.createSession({ userId: '' }), code('InvalidArgument'));
    await assert.rejects(store.setData(s.sessionId, '', 1), code('InvalidArgument'));
    await assert.rejects(store.setData(s.sessionId, 'k', undefined as never), code('InvalidArgument'));
    await assert.rejects(store.setData(s.sessionId, '__proto__', 1), (err: unknown) => {
      code('InvalidArgument')(err);
      assert.match((err as Error).message, /data key must not be "__proto__"/);
      return true;
    });
    // Names of Object.prototype's members are ordinary keys: absent until written.
    assert.equal(await store.getData(s.sessionId, 'constructor'), undefined);
    assert.equal(await store.deleteData(s.sessionId, 'toString'), false);
    await store.setData(s.sessionId, 'constructor', 'mine');
    assert.equal(await store.getData(s.sessionId, 'constructor'), 'mine');
    assert.equal((await store.getSession(s.sessionId)).data.constructor, 'mine');
    await assert.rejects(store.listSessions({ cursor: 'garbage' }), code('InvalidArgument'));
    await assert.rejects(store.listSessions({ limit: 0 }), code('InvalidArgument'));
    await assert.rejects(SessionStore.connect({ region: 'mars', ...twoRegions }), code('UnknownRegion'));
  });

  it('runs fast-path calls through the backend guards: recorded, and limited by the bulkhead', async () => {
    const pool = new BackendPool();
    const count = (backend: string, status: string, operation?: string) =>
      metricValue(pool.registry, 'prism_driver_operations_total', {
        backend,
        status,
        ...(operation ? { operation } : {}),
      });
    const oneAtATime = (db: number) => redisDb(db, { bulkhead: { capacity: 1, queue: 0 } });
    const guarded = await SessionStore.connect({
      region: 'a',
      regions: twoRegions.regions,
      backends: { a0: oneAtATime(1), a1: oneAtATime(2), b0: oneAtATime(3) },
      pool,
    });
    try {
      const s = await guarded.createSession({ userId: uniqueName('user') }, { ttlSeconds: 60 });
      const backend = guarded.shardFor(s.sessionId).backend;
      assert.equal(await count(backend, 'ok', 'changefeed.compareAndSetLogged'), 1);
      await guarded.getSession(s.sessionId);
      assert.equal(await count(backend, 'ok', 'keyvalue_cas.getVersioned'), 1);
      assert.equal(await count(backend, 'ok', 'keyvalue_ttl.expire'), 1);
      // A write is one backend call: the logged compare-and-set against the version last seen.
      const before = await count(backend, 'ok');
      await guarded.setData(s.sessionId, 'k', 1);
      await guarded.setData(s.sessionId, 'k', 2);
      assert.equal((await count(backend, 'ok')) - before, 2, 'two writes, two calls');
      assert.equal(await count(backend, 'ok', 'changefeed.compareAndSetLogged'), 3);
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => guarded.getSession(s.sessionId)));
      const rejected = results.filter((r) => r.status === 'rejected');
      assert.ok(rejected.length > 0, 'a bulkhead of one with no queue refuses concurrent reads');
      for (const r of rejected) assert.equal((r.reason as Error).name, 'BulkheadFullError');
      assert.equal(await count(backend, 'bulkhead_full'), rejected.length);
    } finally {
      await guarded.close();
      await pool.close();
    }
  });
});
