// Replication between two regions (separate Redis databases) through a real worker whose settings
// name the regions, so the worker starts the per-shard replication workflows itself: the stores
// here are given no Temporal client at all. A write in one region reaches the other, concurrent
// writers to one key converge to the same value in both, deletes replicate, a burst of 5,000
// writes arrives whole, the shipping workflows report lag and their history replays, and a
// per-session replication workflow of the earlier design still runs and replays.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { PrismClient } from '../../../src/client/prism-client';
import { SessionStore, SessionStoreError } from '../../../src/client/session-store';
import { PAYLOAD_CONVERTER, PREBUILT_BUNDLE } from '../../../src/runtime/workflow-bundle';
import {
  FEED_STATUS_QUERY,
  feedReplicationWorkflowId,
  type FeedReplicationStatus,
  REPLICATION_STATUS_QUERY,
  SESSION_CHANGED_SIGNAL,
  type ReplicationStatus,
} from '../../../src/workflows/session-store/input';
import { decodeValue } from '../../../src/workflows/session-store/logic';
import { uniqueName } from '../../helpers/env';
import { startWorker, testConfig, waitFor, type WorkerProcess } from '../../helpers/worker-process';
import { ownTwoRegions, stopFeedReplication } from './fixtures';

describe('session store: replication between regions', () => {
  const taskQueue = uniqueName('session-repl');
  const topology = ownTwoRegions();
  let worker: WorkerProcess;
  let client: PrismClient;
  let storeA: SessionStore;
  let storeB: SessionStore;

  before(async () => {
    worker = await startWorker(
      testConfig(taskQueue, {
        backends: topology.backends,
        patterns: {
          'session-store': {
            slots: { shards: ['a0', 'a1', 'b0'] },
            // Short rounds: the status counters the lag test reads are as of the last round.
            settings: { regions: topology.regions, replication_round_seconds: 5 },
            activity: {
              start_to_close_timeout: '10s',
              retry: { initial_interval: '200ms', maximum_interval: '2s', maximum_attempts: 0 },
            },
          },
        },
      }),
    );
    client = await PrismClient.connect({ taskQueue });
    // No `replication`: writes call no Temporal; the worker's workflows ship the feeds.
    storeA = await SessionStore.connect({ region: 'a', ...topology });
    storeB = await SessionStore.connect({ region: 'b', ...topology });
  });

  after(async () => {
    await storeA?.close();
    await storeB?.close();
    if (client) await stopFeedReplication(client.temporal, taskQueue, topology.regions);
    await client?.close();
    await worker?.stop();
  });

  /** The stored record bytes of a session in a region, without touching it. */
  const stored = async (store: SessionStore, region: string, sessionId: string) => {
    const found = await store.shardFor(sessionId, region).read(sessionId);
    return found ? Buffer.from(found.bytes).toString() : null;
  };

  it('the worker started one workflow per shard and other region', async () => {
    for (const [shard, target] of [
      ['a0', 'b'],
      ['a1', 'b'],
      ['b0', 'a'],
    ]) {
      const described = await waitFor(`the workflow of ${shard} → ${target}`, () =>
        client.temporal.workflow
          .getHandle(feedReplicationWorkflowId(taskQueue, shard, target))
          .describe()
          .catch(() => null),
      );
      assert.equal(described.status.name, 'RUNNING');
      assert.equal(described.type, 'sessionFeedReplicationWorkflow');
    }
  });

  it('carries a write from its region to the other, and a delete too', async () => {
    const s = await storeA.createSession({ userId: uniqueName('user'), clientId: 'app' }, { ttlSeconds: 120 });
    await storeA.setData(s.sessionId, 'greeting', 'hello from a');
    const inB = await waitFor('the session in region b', async () => {
      const got = await storeB.getSession(s.sessionId).catch(() => null);
      return got?.data.greeting === 'hello from a' ? got : null;
    });
    assert.equal(inB.metadata.region, 'a');
    // Listing in region b sees it too.
    const listed = await storeB.listSessions({ userId: s.metadata.userId });
    assert.deepEqual(
      listed.sessions.map((x) => x.sessionId),
      [s.sessionId],
    );

    // An extension replicates too, and the status then shows region b in sync.
    const extended = await storeA.extend(s.sessionId, 600);
    await waitFor('the extension in region b', async () => {
      const found = await storeB.shardFor(s.sessionId).read(s.sessionId);
      return found?.record.expiresAt === extended.expiresAt;
    });
    const status = await storeA.replicationStatus(s.sessionId);
    assert.equal(status.regions.b.inSync, true);
    assert.equal(status.regions.b.writtenAt, status.latestWrite);

    await storeA.deleteSession(s.sessionId);
    await waitFor('the delete in region b', async () => {
      const err = await storeB.getSession(s.sessionId).then(
        () => null,
        (e: unknown) => e,
      );
      return err instanceof SessionStoreError && err.code === 'SessionNotFound';
    });
  });

  it('concurrent writers to one key from two regions converge to the same value in both', async () => {
    const s = await storeA.createSession({ userId: uniqueName('user') }, { ttlSeconds: 120 });
    await waitFor('the session in region b', () => storeB.getSession(s.sessionId).catch(() => null));
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 15; i++) {
      writes.push(storeA.setData(s.sessionId, 'shared', `a-${i}`));
      writes.push(storeB.setData(s.sessionId, 'shared', `b-${i}`));
      writes.push(storeA.setData(s.sessionId, `only-a-${i}`, i));
      writes.push(storeB.setData(s.sessionId, `only-b-${i}`, i));
    }
    await Promise.all(writes);
    const converged = await waitFor(
      'both regions to hold the same record',
      async () => {
        const [a, b] = await Promise.all([stored(storeA, 'a', s.sessionId), stored(storeA, 'b', s.sessionId)]);
        return a !== null && a === b ? a : null;
      },
      60_000,
    );
    const record = JSON.parse(converged) as { data: Record<string, { value: { j: string }; stamp: { ts: number } }> };
    const final = decodeValue(record.data.shared.value);
    assert.match(String(final), /^[ab]-\d+$/);
    // No write to a distinct key was lost on either side.
    for (let i = 0; i < 15; i++) {
      assert.equal(decodeValue(record.data[`only-a-${i}`].value), i);
      assert.equal(decodeValue(record.data[`only-b-${i}`].value), i);
    }
    const [fromA, fromB] = await Promise.all([
      storeA.getData(s.sessionId, 'shared'),
      storeB.getData(s.sessionId, 'shared'),
    ]);
    assert.equal(fromA, final);
    assert.equal(fromB, final);
    process.stdout.write(`# concurrent writers converged on ${String(final)} in both regions\n`);
  });

  it('a burst of 5,000 writes reaches the other region whole, with the final values', async () => {
    const sessions = await Promise.all(
      Array.from({ length: 50 }, () => storeA.createSession({ userId: uniqueName('burst') }, { ttlSeconds: 300 })),
    );
    // 50 sessions × 100 writes: write n of a session sets key k<n mod 10> to n (the last per key wins).
    const started = Date.now();
    await Promise.all(
      sessions.map(async (s) => {
        for (let n = 0; n < 100; n++) await storeA.setData(s.sessionId, `k${n % 10}`, n);
      }),
    );
    const wroteMs = Date.now() - started;
    for (const s of sessions) {
      await waitFor(
        `session ${s.sessionId} whole in region b`,
        async () => {
          const found = await storeB.shardFor(s.sessionId, 'b').read(s.sessionId);
          if (!found) return false;
          return Array.from({ length: 10 }, (_, k) => found.record.data[`k${k}`]).every(
            (e, k) => e?.value != null && decodeValue(e.value) === 90 + k,
          );
        },
        60_000,
      );
    }
    // Byte for byte the same record in both regions.
    for (const s of sessions) {
      assert.equal(await stored(storeA, 'b', s.sessionId), await stored(storeA, 'a', s.sessionId));
    }
    process.stdout.write(
      `# 5,000 writes in ${wroteMs} ms (${Math.round(5_000_000 / wroteMs)}/s), all in region b ${Date.now() - started - wroteMs} ms after the last\n`,
    );
  });

  it('the shipping workflows report what they shipped and its lag, and their history replays', async () => {
    const s = await storeA.createSession({ userId: uniqueName('user') }, { ttlSeconds: 120 });
    await storeA.setData(s.sessionId, 'tick', 1);
    const shard = storeA.shardFor(s.sessionId).backend;
    const handle = client.temporal.workflow.getHandle(feedReplicationWorkflowId(taskQueue, shard, 'b'));
    const st = await waitFor('a lag reported', async () => {
      const q = await handle.query<FeedReplicationStatus>(FEED_STATUS_QUERY);
      return q.shipped > 0 && q.lastLagMs !== null ? q : null;
    });
    assert.equal(st.shard, shard);
    assert.equal(st.target, 'b');
    assert.ok(st.applied > 0 && st.applied <= st.shipped);
    assert.ok(st.maxLagMs >= st.lastLagMs!);
    const viaStore = await storeA.replicationStatus(s.sessionId);
    assert.equal(viaStore.regions.b.feed, null, 'a store without a Temporal client knows no workflow status');
    process.stdout.write(`# ${shard} → b: shipped ${st.shipped}, last lag ${st.lastLagMs} ms, max ${st.maxLagMs} ms\n`);

    const history = await handle.fetchHistory();
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: PREBUILT_BUNDLE }, dataConverter: { payloadConverterPath: PAYLOAD_CONVERTER } },
      history,
    );
  });

  it('fails a shipping workflow whose topology names a backend the worker has no slot for', async () => {
    const handle = await client.temporal.workflow.start('sessionFeedReplicationWorkflow', {
      taskQueue,
      workflowId: uniqueName('session-feed-bad'),
      args: [{ shard: 'a0', target: 'z', regions: { a: ['a0'], z: ['nowhere'] } }],
    });
    await assert.rejects(handle.result(), (err: Error) => {
      const cause = (err as { cause?: { type?: string; message?: string } }).cause;
      assert.equal(cause?.type, 'InvalidInput');
      assert.match(
        cause?.message ?? '',
        /input\.regions\.z: backend "nowhere" is not in the shards slot of session-store/,
      );
      return true;
    });
  });

  it('a per-session replication workflow of the earlier design still runs to its end, and replays', async () => {
    // As the earlier client started one: signal-with-start after a committed write.
    const s = await storeA.createSession({ userId: uniqueName('user') }, { ttlSeconds: 120 });
    const handle = await client.temporal.workflow.signalWithStart('sessionReplicationWorkflow', {
      workflowId: uniqueName('session-replication-legacy'),
      taskQueue,
      args: [{ sessionId: s.sessionId, regions: topology.regions, idleTimeoutMs: 500 }],
      signal: SESSION_CHANGED_SIGNAL,
      signalArgs: [{ region: 'a', ts: s.lastAccessed }],
    });
    const result = (await handle.result()) as ReplicationStatus;
    assert.equal(result.regions.b.appliedUpTo, result.latestWrite);
    assert.equal((await handle.query<ReplicationStatus>(REPLICATION_STATUS_QUERY)).sessionId, s.sessionId);
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: PREBUILT_BUNDLE }, dataConverter: { payloadConverterPath: PAYLOAD_CONVERTER } },
      await handle.fetchHistory(),
    );
  });
});
