// One region's backend (a redis-server of this test's own) is stopped while writes go on in the
// other region, then started again: the shipping workflow catches it up from its checkpoint in
// the change feed and no write is lost; meanwhile the fast path in the dead region fails fast
// through its breaker. A longer outage, during which the feed is trimmed past the region's
// checkpoint (retention 1,000 entries here), ends in a full resync by scan, with no write lost
// either. The replication workflow is started by the store at connect (`replication`): this
// worker's settings name no regions.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PrismClient } from '../../../src/client/prism-client';
import { SessionStore, type Session } from '../../../src/client/session-store';
import { CircuitOpenError } from '../../../src/resilience/errors';
import {
  FEED_STATUS_QUERY,
  feedReplicationWorkflowId,
  type FeedReplicationStatus,
} from '../../../src/workflows/session-store/input';
import { decodeValue } from '../../../src/workflows/session-store/logic';
import { stackEnv, uniqueName } from '../../helpers/env';
import { ExtraRedis } from '../../helpers/extra-redis';
import { startWorker, testConfig, waitFor, type WorkerProcess } from '../../helpers/worker-process';
import { redisDb, sleep, stopFeedReplication } from './fixtures';

const PORT = Number(process.env.PRISM_TEST_SESSION_REDIS_PORT ?? 16_610);

describe('session store: a region down during writes, then back', () => {
  const taskQueue = uniqueName('session-outage');
  const redis = new ExtraRedis(uniqueName('session-region-x'), PORT);
  let worker: WorkerProcess;
  let client: PrismClient;
  let storeA: SessionStore;
  let storeX: SessionStore;
  const breaker = { max_failures: 3, reset_timeout: '1s' };
  const prefix = `${uniqueName('outage')}:`;
  let topology: { regions: Record<string, string[]>; backends: Record<string, unknown> };

  before(async () => {
    redis.up();
    topology = {
      regions: { a: ['a0'], x: ['x0'] },
      backends: {
        a0: redisDb(4, { config: { url: `${stackEnv.redisUrl}/4`, keyPrefix: prefix }, circuit_breaker: breaker }),
        x0: { driver: 'redis', config: { url: redis.url, commandTimeoutMs: 1000 }, circuit_breaker: breaker },
      },
    };
    worker = await startWorker(
      testConfig(taskQueue, {
        backends: topology.backends,
        patterns: {
          'session-store': {
            slots: { shards: ['a0', 'x0'] },
            settings: { replication_feed_max_entries: 1000 },
            activity: {
              start_to_close_timeout: '5s',
              retry: { initial_interval: '200ms', maximum_interval: '1s', maximum_attempts: 0 },
            },
          },
        },
      }),
    );
    client = await PrismClient.connect({ taskQueue });
    const replication = { client: client.temporal, taskQueue };
    storeA = await SessionStore.connect({ region: 'a', ...topology, replication });
    storeX = await SessionStore.connect({ region: 'x', ...topology });
  });

  after(async () => {
    await storeA?.close();
    await storeX?.close();
    if (client) await stopFeedReplication(client.temporal, taskQueue, topology.regions);
    await client?.close();
    await worker?.stop();
    redis.down();
  });

  const feedStatus = () =>
    client.temporal.workflow
      .getHandle(feedReplicationWorkflowId(taskQueue, 'a0', 'x'))
      .query<FeedReplicationStatus>(FEED_STATUS_QUERY);

  /** Waits until every session's keys k0..k<keys-1> hold `value` in region x, and x's copy equals a's. */
  async function caughtUp(sessions: Session[], keys: number, value: string): Promise<void> {
    for (const s of sessions) {
      await waitFor(
        `session ${s.sessionId} caught up in region x`,
        async () => {
          const found = await storeX
            .shardFor(s.sessionId)
            .read(s.sessionId)
            .catch(() => null);
          if (!found) return null;
          const data = found.record.data;
          return Array.from({ length: keys }, (_, k) => data[`k${k}`]).every(
            (e) => e?.value && decodeValue(e.value) === value,
          );
        },
        90_000,
      );
    }
    for (const s of sessions) {
      const a = await storeA.shardFor(s.sessionId).read(s.sessionId);
      const x = await storeX.shardFor(s.sessionId).read(s.sessionId);
      assert.equal(Buffer.from(x!.bytes).toString(), Buffer.from(a!.bytes).toString(), 'the same record in both');
    }
  }

  it('catches the region up from its checkpoint when it returns, with every write', async () => {
    const sessions = await Promise.all(
      Array.from({ length: 4 }, () => storeA.createSession({ userId: uniqueName('user') }, { ttlSeconds: 300 })),
    );
    for (const s of sessions) {
      await waitFor('the session in region x', () => storeX.shardFor(s.sessionId).read(s.sessionId));
    }

    redis.down();
    const downAt = Date.now();
    // Writes go on in region a: 4 sessions × 8 keys, each key written twice (the second wins).
    for (let round = 0; round < 2; round++) {
      for (let k = 0; k < 8; k++) {
        await Promise.all(sessions.map((s) => storeA.setData(s.sessionId, `k${k}`, `round-${round}`)));
      }
    }
    // Region x's fast path fails, and after max_failures its breaker fails fast.
    const errors: string[] = [];
    for (let i = 0; i < 6; i++) {
      errors.push(
        await storeX.getSession(sessions[0].sessionId).then(
          () => 'ok',
          (err: unknown) => (err instanceof CircuitOpenError ? 'CircuitOpen' : (err as Error).name),
        ),
      );
    }
    process.stdout.write(`# region x fast path while down: ${errors.join(', ')}\n`);
    assert.ok(errors.includes('CircuitOpen'), 'the breaker opened');

    await sleep(2000);
    redis.up();
    const upAt = Date.now();
    await caughtUp(sessions, 8, 'round-1');
    process.stdout.write(
      `# region x down for ${upAt - downAt} ms; caught up ${Date.now() - upAt} ms after it came back\n`,
    );
    assert.equal((await feedStatus()).resyncs, 0, 'the feed held everything: no resync');
    // And the fast path in region x works again once its breaker lets a probe through.
    const got = await waitFor('region x fast path', () => storeX.getSession(sessions[0].sessionId).catch(() => null));
    assert.equal(got.data.k7, 'round-1');
  });

  it('after an outage longer than the feed keeps, resyncs the region by scan, with every write', async () => {
    const sessions = await Promise.all(
      Array.from({ length: 20 }, () => storeA.createSession({ userId: uniqueName('user') }, { ttlSeconds: 300 })),
    );
    for (const s of sessions) {
      await waitFor('the session in region x', () => storeX.shardFor(s.sessionId).read(s.sessionId));
    }
    redis.down();
    // 20 sessions × 100 writes: twice what the feed keeps past x's checkpoint.
    for (let round = 0; round < 10; round++) {
      for (let k = 0; k < 10; k++) {
        await Promise.all(sessions.map((s) => storeA.setData(s.sessionId, `k${k}`, `round-${round}`)));
      }
    }
    await sleep(6000); // the shipper trims the feed past the retention every 5 s, even while x is away
    redis.up();
    const upAt = Date.now();
    await caughtUp(sessions, 10, 'round-9');
    const st = await waitFor('the resync counted', async () => {
      const q = await feedStatus();
      return q.resyncs > 0 && q.phase === 'shipping' ? q : null;
    });
    process.stdout.write(`# resynced ${st.resyncs}× by scan; caught up ${Date.now() - upAt} ms after x came back\n`);
  });
});
