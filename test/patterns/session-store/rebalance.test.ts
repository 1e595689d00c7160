// Adding a shard to a region: the rebalance workflow moves about 1/N of the sessions to their new
// shard with progress, while a client on the new topology keeps writing: no write is lost.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import Redis from 'ioredis';
import { PrismClient } from '../../../src/client/prism-client';
import { SessionStore } from '../../../src/client/session-store';
import { PAYLOAD_CONVERTER, PREBUILT_BUNDLE } from '../../../src/runtime/workflow-bundle';
import { HashRing } from '../../../src/workflows/session-store/consistent-hash';
import type { RebalanceProgress } from '../../../src/workflows/session-store/input';
import { stackEnv, uniqueName } from '../../helpers/env';
import { startWorker, testConfig, type WorkerProcess } from '../../helpers/worker-process';

describe('session store: rebalance after adding a shard', () => {
  const taskQueue = uniqueName('session-rebalance');
  const prefix = `${uniqueName('rb')}:`; // this run's keys only, so the scan sees nothing else
  const backends = {
    c0: { driver: 'redis', config: { url: `${stackEnv.redisUrl}/8`, keyPrefix: prefix } },
    c1: { driver: 'redis', config: { url: `${stackEnv.redisUrl}/9`, keyPrefix: prefix } },
    c2: { driver: 'redis', config: { url: `${stackEnv.redisUrl}/10`, keyPrefix: prefix } },
  };
  let worker: WorkerProcess;
  let client: PrismClient;
  let before2: SessionStore;
  let during: SessionStore;
  const raw = new Map<string, Redis>();

  before(async () => {
    worker = await startWorker(
      testConfig(taskQueue, {
        backends,
        patterns: {
          'session-store': {
            slots: { shards: ['c0', 'c1', 'c2'] },
            activity: { start_to_close_timeout: '20s', retry: { initial_interval: '200ms', maximum_attempts: 10 } },
          },
        },
      }),
    );
    client = await PrismClient.connect({ taskQueue });
    for (const [name, db] of [
      ['c0', 8],
      ['c1', 9],
      ['c2', 10],
    ] as const)
      raw.set(name, new Redis(`${stackEnv.redisUrl}/${db}`));
    before2 = await SessionStore.connect({ region: 'r', regions: { r: ['c0', 'c1'] }, backends });
    during = await SessionStore.connect({
      region: 'r',
      regions: { r: ['c0', 'c1', 'c2'] },
      previousRegions: { r: ['c0', 'c1'] },
      backends,
    });
  });

  after(async () => {
    for (const r of raw.values()) r.disconnect();
    await before2?.close();
    await during?.close();
    await client?.close();
    await worker?.stop();
  });

  it('moves about a third of the sessions to the new shard without losing concurrent writes', async () => {
    const userId = uniqueName('user');
    const sessions = [];
    for (let i = 0; i < 60; i++) {
      const s = await before2.createSession({ userId }, { ttlSeconds: 300 });
      await before2.setData(s.sessionId, 'v', 0);
      sessions.push(s.sessionId);
    }
    const newRing = new HashRing(['c0', 'c1', 'c2']);
    const expectedMoves = sessions.filter((id) => newRing.shardFor(id) === 'c2').length;

    const started = await client.start(
      'sessionRebalanceWorkflow',
      [{ region: 'r', shards: ['c0', 'c1', 'c2'], previousShards: ['c0', 'c1'], pageSize: 5 }],
      { pattern: 'session-store' },
    );
    // Writes on the new topology to half of the sessions while the move runs; the other half
    // only the workflow can move.
    const written = sessions.slice(0, 30);
    const untouched = sessions.slice(30);
    for (let round = 1; round <= 3; round++) {
      await Promise.all(
        written.map(async (id) => {
          await during.setData(id, 'v', round);
          await during.setData(id, `w${round}`, round);
        }),
      );
    }
    const progress = (await started.handle.result()) as RebalanceProgress;
    const workflowOnly = untouched.filter((id) => newRing.shardFor(id) === 'c2').length;
    process.stdout.write(
      `# rebalance of 60 sessions over 2 → 3 shards: ${expectedMoves} belong on the new shard; ` +
        `the workflow scanned ${progress.scanned} and moved ${progress.moved}, the writing client the rest\n`,
    );
    assert.equal(progress.shardsDone, 2);
    assert.equal(progress.percent, 100);
    assert.ok(progress.moved >= workflowOnly && progress.moved <= expectedMoves, `moved ${progress.moved}`);

    // Every session is at its new place only, with every write.
    for (const id of sessions) {
      const at = newRing.shardFor(id);
      for (const [backend, redis] of raw) {
        assert.equal(await redis.exists(`${prefix}sess:${id}`), backend === at ? 1 : 0, `${id} on ${backend}`);
      }
      const got = await during.getSession(id);
      assert.deepEqual(got.data, written.includes(id) ? { v: 3, w1: 1, w2: 2, w3: 3 } : { v: 0 });
    }
    const d = await started.handle.describe();
    assert.equal(d.typedSearchAttributes.get({ name: 'PrismProgress', type: 'INT' } as never), 100);

    const listed = await during.listSessions({ userId, limit: 100 });
    assert.equal(listed.sessions.length, 60);

    await Worker.runReplayHistory(
      { workflowBundle: { codePath: PREBUILT_BUNDLE }, dataConverter: { payloadConverterPath: PAYLOAD_CONVERTER } },
      await started.handle.fetchHistory(),
    );
  });
});
