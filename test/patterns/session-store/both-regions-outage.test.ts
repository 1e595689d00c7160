// Both regions' shards on one redis-server of this test's own (two databases), replicated both
// ways; the server is stopped long enough for the worker's breakers on both shards to open, then
// started again. Each shipping round runs as one guarded call on its source shard, so the first
// round admitted once a circuit is half-open is that circuit's probe: were it to run its whole
// round (5 minutes by default, kept here), the circuit would stay half-open and refuse the other
// region's merges into the shard meanwhile. Writes made in each region after the outage must reach
// the other one well within that.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PrismClient } from '../../../src/client/prism-client';
import { SessionStore, type Session } from '../../../src/client/session-store';
import { decodeValue } from '../../../src/workflows/session-store/logic';
import { uniqueName } from '../../helpers/env';
import { ExtraRedis } from '../../helpers/extra-redis';
import { startWorker, testConfig, waitFor, type WorkerProcess } from '../../helpers/worker-process';
import { sleep, stopFeedReplication } from './fixtures';

const PORT = Number(process.env.PRISM_TEST_SESSION_BOTH_REDIS_PORT ?? 16_611);
const KEYS = 4;

describe('session store: both regions down at once, then back', () => {
  const taskQueue = uniqueName('session-both-down');
  const redis = new ExtraRedis(uniqueName('session-both'), PORT);
  let worker: WorkerProcess;
  let client: PrismClient;
  const stores: Record<'e' | 'w', SessionStore> = {} as Record<'e' | 'w', SessionStore>;
  const breaker = { max_failures: 3, reset_timeout: '1s' };
  let topology: { regions: Record<string, string[]>; backends: Record<string, unknown> };

  before(async () => {
    redis.up();
    const shard = (db: number) => ({
      driver: 'redis',
      config: { url: `${redis.url}/${db}`, commandTimeoutMs: 1000 },
      circuit_breaker: breaker,
    });
    topology = { regions: { e: ['e0'], w: ['w0'] }, backends: { e0: shard(1), w0: shard(2) } };
    worker = await startWorker(
      testConfig(taskQueue, {
        backends: topology.backends,
        patterns: {
          'session-store': {
            slots: { shards: ['e0', 'w0'] },
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
    stores.e = await SessionStore.connect({ region: 'e', ...topology, replication });
    stores.w = await SessionStore.connect({ region: 'w', ...topology, replication });
  });

  after(async () => {
    await stores.e?.close();
    await stores.w?.close();
    if (client) await stopFeedReplication(client.temporal, taskQueue, topology.regions);
    await client?.close();
    await worker?.stop();
    redis.down();
  });

  /** Whether every key k0..k<KEYS-1> of the session holds `value` in the region. */
  async function holds(region: 'e' | 'w', s: Session, value: string): Promise<boolean> {
    const found = await stores[region]
      .shardFor(s.sessionId)
      .read(s.sessionId)
      .catch(() => null);
    const data = found?.record.data;
    return (
      data !== undefined &&
      Array.from({ length: KEYS }, (_, k) => data[`k${k}`]).every((e) => e?.value && decodeValue(e.value) === value)
    );
  }

  it('replicates the writes made after the outage both ways, well within a round', async () => {
    const sessions = {
      e: await Promise.all([0, 1].map(() => stores.e.createSession({ userId: uniqueName('user') }))),
      w: await Promise.all([0, 1].map(() => stores.w.createSession({ userId: uniqueName('user') }))),
    };
    for (const [from, to] of [
      ['e', 'w'],
      ['w', 'e'],
    ] as const) {
      for (const s of sessions[from]) {
        await waitFor(`session ${s.sessionId} in region ${to}`, () =>
          stores[to].shardFor(s.sessionId).read(s.sessionId),
        );
      }
    }

    redis.down();
    // The shipping rounds fail and are retried meanwhile: both shards' circuits open on the worker.
    await sleep(4000);
    redis.up();
    const upAt = Date.now();

    // Writes in both regions, each retried until its region's own circuit lets it through.
    for (const region of ['e', 'w'] as const) {
      for (const s of sessions[region]) {
        for (let k = 0; k < KEYS; k++) {
          await waitFor(`write k${k} of ${s.sessionId} in region ${region}`, () =>
            stores[region].setData(s.sessionId, `k${k}`, 'after').then(
              () => true,
              () => false,
            ),
          );
        }
      }
    }
    // A round that kept the circuit half-open would hold the other direction up for 5 minutes.
    for (const [from, to] of [
      ['e', 'w'],
      ['w', 'e'],
    ] as const) {
      for (const s of sessions[from]) {
        await waitFor(
          `the writes of ${s.sessionId} (region ${from}) in region ${to}`,
          () => holds(to, s, 'after'),
          90_000,
        );
      }
    }
    process.stdout.write(`# both directions caught up ${Date.now() - upAt} ms after the server came back\n`);
    for (const s of [...sessions.e, ...sessions.w]) {
      const e = await stores.e.shardFor(s.sessionId).read(s.sessionId);
      const w = await stores.w.shardFor(s.sessionId).read(s.sessionId);
      assert.equal(Buffer.from(w!.bytes).toString(), Buffer.from(e!.bytes).toString(), 'the same record in both');
    }
  });
});
