// One region's backend (a redis-server of this test's own) is killed while writes go on in the
// other region, then restarted: replication catches it up and no write is lost. Meanwhile the
// fast path in the dead region fails fast through its breaker.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PrismClient } from '../../../src/client/prism-client';
import { SessionStore } from '../../../src/client/session-store';
import { CircuitOpenError } from '../../../src/resilience/errors';
import { decodeRecord, decodeValue } from '../../../src/workflows/session-store/session-record';
import { uniqueName } from '../../helpers/env';
import { startWorker, testConfig, waitFor, type WorkerProcess } from '../../helpers/worker-process';
import { OwnRedis, redisDb, sleep } from './fixtures';

describe('session store: a region down during writes, then back', () => {
  const taskQueue = uniqueName('session-outage');
  const redis = new OwnRedis(20_000 + Math.floor(Math.random() * 20_000));
  let worker: WorkerProcess;
  let client: PrismClient;
  let storeA: SessionStore;
  let storeX: SessionStore;
  const breaker = { max_failures: 3, reset_timeout: '1s' };
  let topology: { regions: Record<string, string[]>; backends: Record<string, unknown> };

  before(async () => {
    await redis.start();
    topology = {
      regions: { a: ['a0'], x: ['x0'] },
      backends: {
        a0: redisDb(4, { circuit_breaker: breaker }),
        x0: { driver: 'redis', config: { url: redis.url, commandTimeoutMs: 1000 }, circuit_breaker: breaker },
      },
    };
    worker = await startWorker(
      testConfig(taskQueue, {
        backends: topology.backends,
        patterns: {
          'session-store': {
            slots: { shards: ['a0', 'x0'] },
            activity: {
              start_to_close_timeout: '5s',
              retry: { initial_interval: '200ms', maximum_interval: '1s', maximum_attempts: 0 },
            },
          },
        },
      }),
    );
    client = await PrismClient.connect({ taskQueue });
    const replication = { client: client.temporal, taskQueue, idleTimeoutMs: 3000 };
    storeA = await SessionStore.connect({ region: 'a', ...topology, replication });
    storeX = await SessionStore.connect({ region: 'x', ...topology, replication });
  });

  after(async () => {
    await storeA?.close();
    await storeX?.close();
    await client?.close();
    await worker?.stop();
    await redis.kill();
  });

  it('catches the region up when it returns, with every write', async () => {
    const sessions = await Promise.all(
      Array.from({ length: 4 }, () => storeA.createSession({ userId: uniqueName('user') }, { ttlSeconds: 300 })),
    );
    for (const s of sessions) {
      await waitFor('the session in region x', () => storeX.shardFor(s.sessionId).read(s.sessionId));
    }

    await redis.kill();
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
    const status = await storeA.replicationStatus(sessions[0].sessionId);
    assert.equal(status?.regions.x.pending, true, 'replication to x is waiting');

    await sleep(2000);
    await redis.start();
    const upAt = Date.now();
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
          return Array.from({ length: 8 }, (_, k) => data[`k${k}`]).every(
            (e) => e?.value && decodeValue(e.value) === 'round-1',
          );
        },
        60_000,
      );
    }
    process.stdout.write(
      `# region x down for ${upAt - downAt} ms; caught up ${Date.now() - upAt} ms after it came back\n`,
    );
    // Same record in both regions.
    for (const s of sessions) {
      const a = await storeA.shardFor(s.sessionId).read(s.sessionId);
      const x = decodeRecord((await storeX.shardFor(s.sessionId).read(s.sessionId))!.bytes);
      assert.deepEqual(x.data, a!.record.data);
    }
    // And the fast path in region x works again once its breaker lets a probe through.
    const got = await waitFor('region x fast path', () => storeX.getSession(sessions[0].sessionId).catch(() => null));
    assert.equal(got.data.k7, 'round-1');
  });
});
