// Replication between two regions (separate Redis databases) through a real worker: a write in
// one region reaches the other, concurrent writers to one key converge to the same value in both,
// deletes replicate, lag is reported per session, and the workflow's history replays.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { PrismClient } from '../../../src/client/prism-client';
import { SessionStore, SessionStoreError } from '../../../src/client/session-store';
import { PAYLOAD_CONVERTER, PREBUILT_BUNDLE } from '../../../src/runtime/workflow-bundle';
import {
  REPLICATION_STATUS_QUERY,
  replicationWorkflowId,
  type ReplicationStatus,
} from '../../../src/workflows/session-store/input';
import { decodeValue } from '../../../src/workflows/session-store/session-record';
import { uniqueName } from '../../helpers/env';
import { startWorker, testConfig, waitFor, type WorkerProcess } from '../../helpers/worker-process';
import { twoRegions } from './fixtures';

describe('session store: replication between regions', () => {
  const taskQueue = uniqueName('session-repl');
  let worker: WorkerProcess;
  let client: PrismClient;
  let storeA: SessionStore;
  let storeB: SessionStore;

  before(async () => {
    worker = await startWorker(
      testConfig(taskQueue, {
        backends: twoRegions.backends,
        patterns: {
          'session-store': {
            slots: { shards: ['a0', 'a1', 'b0'] },
            activity: {
              start_to_close_timeout: '10s',
              retry: { initial_interval: '200ms', maximum_interval: '2s', maximum_attempts: 0 },
            },
          },
        },
      }),
    );
    client = await PrismClient.connect({ taskQueue });
    const replication = { client: client.temporal, taskQueue, idleTimeoutMs: 2000 };
    storeA = await SessionStore.connect({ region: 'a', ...twoRegions, replication });
    storeB = await SessionStore.connect({ region: 'b', ...twoRegions, replication });
  });

  after(async () => {
    await storeA?.close();
    await storeB?.close();
    await client?.close();
    await worker?.stop();
  });

  /** The stored record bytes of a session in a region, without touching it. */
  const stored = async (store: SessionStore, region: string, sessionId: string) => {
    const found = await store.shardFor(sessionId, region).read(sessionId);
    return found ? Buffer.from(found.bytes).toString() : null;
  };

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
    await waitFor('region b in sync', async () => {
      const st = await storeA.replicationStatus(s.sessionId);
      return st !== null && !st.regions.b.pending && st.regions.b.appliedUpTo === st.latestWrite;
    });

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

  it('coalesces the signals of concurrent writes to one session, each write returning once a signal covers it', async () => {
    const s = await storeA.createSession({ userId: uniqueName('user') }, { ttlSeconds: 120 });
    const handle = client.temporal.workflow.getHandle(replicationWorkflowId(s.sessionId));
    const writes = 20;
    // Every write is issued at once; right after each returns, the workflow has seen a signal at
    // least as new as that write (no read touches the record here, so lastAccessed = writtenAt).
    const covered = await Promise.all(
      Array.from({ length: writes }, async (_, i) => {
        const written = await storeA.setData(s.sessionId, 'n', i);
        const st = (await handle.query<ReplicationStatus>(REPLICATION_STATUS_QUERY))!;
        return { ts: written.lastAccessed, latestWrite: st.latestWrite };
      }),
    );
    for (const { ts, latestWrite } of covered)
      assert.ok(latestWrite !== null && latestWrite >= ts, `${latestWrite} < ${ts}`);
    const inA = (await storeA.shardFor(s.sessionId).read(s.sessionId))!.record;
    assert.equal(inA.lastAccessed, inA.writtenAt);

    // The last write (writers take turns in call order) reaches region b.
    await waitFor('the last write in region b', async () => {
      const found = await storeB.shardFor(s.sessionId, 'b').read(s.sessionId);
      const entry = found?.record.data.n;
      return entry?.value != null && decodeValue(entry.value) === writes - 1;
    });
    // One signal for the create, then fewer than one per write.
    const history = await handle.fetchHistory();
    const signals = (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).length;
    assert.ok(signals < 1 + writes, `${signals} signals for 1 create + ${writes} writes`);
    process.stdout.write(`# ${writes} concurrent writes to one session: ${signals - 1} replication signals\n`);
  });

  it('reports replication lag per session under a steady write load, and the history replays', async () => {
    const sessions = await Promise.all(
      Array.from({ length: 5 }, () => storeA.createSession({ userId: uniqueName('user') }, { ttlSeconds: 120 })),
    );
    // Steady load: 5 sessions, one write each every 100 ms for 5 s (50 writes/s).
    const started = Date.now();
    const lags: number[] = [];
    for (let tick = 0; Date.now() - started < 5000; tick++) {
      await Promise.all(sessions.map((s) => storeA.setData(s.sessionId, 'tick', tick)));
      await new Promise((r) => setTimeout(r, 100));
    }
    const statuses = await Promise.all(
      sessions.map((s) =>
        waitFor(
          'replication to settle',
          async () => {
            const st = await storeA.replicationStatus(s.sessionId);
            return st && !st.regions.b.pending && st.regions.b.appliedUpTo === st.latestWrite ? st : null;
          },
          30_000,
        ),
      ),
    );
    for (const st of statuses) {
      assert.ok(st.regions.b.lagSeconds !== null && st.regions.b.lagSeconds >= 0);
      assert.ok(st.regions.b.rounds > 0);
      lags.push(st.regions.b.maxLagSeconds);
    }
    lags.sort((x, y) => x - y);
    const lastLags = statuses.map((st) => st.regions.b.lagSeconds!).sort((x, y) => x - y);
    process.stdout.write(
      `# replication lag a→b under 50 writes/s: last per session ${lastLags.map((l) => l.toFixed(3)).join(', ')} s; ` +
        `max per session ${lags.map((l) => l.toFixed(3)).join(', ')} s\n`,
    );

    // The lag is on the workflow's memo (the UI shows it per session) and the run ends when idle.
    const handle = client.temporal.workflow.getHandle(replicationWorkflowId(sessions[0].sessionId));
    const result = (await handle.result()) as ReplicationStatus;
    assert.equal(result.regions.b.appliedUpTo, result.latestWrite);
    const described = await handle.describe();
    const memo = described.memo as { replicationLagSeconds?: Record<string, number | null> } | undefined;
    assert.equal(typeof memo?.replicationLagSeconds?.b, 'number');

    const history = await handle.fetchHistory();
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: PREBUILT_BUNDLE }, dataConverter: { payloadConverterPath: PAYLOAD_CONVERTER } },
      history,
    );
  });

  it('fails a replication workflow whose topology names a backend the worker has no slot for', async () => {
    const handle = await client.temporal.workflow.start('sessionReplicationWorkflow', {
      taskQueue,
      workflowId: uniqueName('session-repl-bad'),
      args: [{ sessionId: 'x', regions: { a: ['a0'], z: ['nowhere'] } }],
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
});
