// A list slot end to end: a worker whose `replicas` list holds two Redis servers of this test's own
// (ports 6395 and 6396). Every element gets the write through its own backend task queue and runs
// the pattern's own activity there; then one server goes down and only its element fails: its
// breaker opens, the other element's stays closed and keeps serving.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Redis from 'ioredis';
import { PrismClient } from '../../src/client/prism-client';
import { uniqueName } from '../helpers/env';
import { ExtraRedis } from '../helpers/extra-redis';
import { startWorker, testConfig, waitFor, type WorkerProcess } from '../helpers/worker-process';
import { LIST_SLOT, type ReplicaOutcome } from './fixtures/list-slot-slots';

const SDK_WORKER_MAIN = join(__dirname, 'fixtures/sdk-worker-main.js');

describe('list slot: two Redis backends in one slot', () => {
  const redisA = new ExtraRedis('list-slot-a', Number(process.env.PRISM_TEST_LIST_REDIS_A_PORT ?? 6395));
  const redisB = new ExtraRedis('list-slot-b', Number(process.env.PRISM_TEST_LIST_REDIS_B_PORT ?? 6396));
  const taskQueue = uniqueName('list-slot');
  // A short reset: an open breaker makes retries wait about that long (workflows wait, not fail).
  const breaker = { max_failures: 2, reset_timeout: '2s' };
  let worker: WorkerProcess;
  let client: PrismClient;
  let rawA: Redis;
  let rawB: Redis;

  before(async () => {
    redisA.up();
    redisB.up();
    rawA = new Redis(redisA.url);
    rawB = new Redis(redisB.url, { maxRetriesPerRequest: 1 });
    rawB.on('error', () => undefined); // refused while the test has its server down: expected
    const backend = (url: string) => ({
      driver: 'redis',
      config: { url, commandTimeoutMs: 1000, connectTimeoutMs: 1000 },
      circuit_breaker: breaker,
    });
    worker = await startWorker(
      testConfig(taskQueue, {
        backends: { ra: backend(redisA.url), rb: backend(redisB.url) },
        patterns: {
          [LIST_SLOT]: {
            slots: { replicas: ['ra', 'rb'] },
            activity: { start_to_close_timeout: '5s', retry: { initial_interval: '100ms', maximum_attempts: 3 } },
          },
        },
      }),
      { main: SDK_WORKER_MAIN },
    );
    client = await PrismClient.connect({ taskQueue });
  });

  after(async () => {
    await client?.close();
    await worker?.stop();
    rawA?.disconnect();
    rawB?.disconnect();
    redisA.down();
    redisB.up(); // may have been taken down by the test; down() needs it known to the stack script
    redisB.down();
  });

  const run = async (key: string, value: string) => {
    const started = await client.start('listSlotWorkflow', [{ key, value }], { pattern: LIST_SLOT });
    const outcomes = (await started.handle.result()) as ReplicaOutcome[];
    const history = await started.handle.fetchHistory();
    const scheduled = (history.events ?? [])
      .map((e) => e.activityTaskScheduledEventAttributes)
      .filter((a) => a !== null && a !== undefined)
      .map((a) => `${a.taskQueue?.name} ${a.activityType?.name}`);
    return { outcomes, scheduled };
  };

  it('writes through every element on its own backend queue, each with its own pattern activity', async () => {
    const key = uniqueName('list-key');
    const { outcomes, scheduled } = await run(key, 'hello');

    assert.deepEqual(outcomes, [
      {
        backend: 'ra',
        index: 0,
        taskQueue: `${taskQueue}.backend.ra`,
        readBack: 'hello@ra',
        identity: { backend: 'ra', index: 0 },
      },
      {
        backend: 'rb',
        index: 1,
        taskQueue: `${taskQueue}.backend.rb`,
        readBack: 'hello@rb',
        identity: { backend: 'rb', index: 1 },
      },
    ]);
    // The writes really are on the two servers, each its own value.
    assert.equal(await rawA.get(key), 'hello@ra');
    assert.equal(await rawB.get(key), 'hello@rb');
    // Capability operations and the pattern's activity (one name, per-element queue).
    for (const b of ['ra', 'rb']) {
      const q = `${taskQueue}.backend.${b}`;
      assert.ok(scheduled.includes(`${q} keyvalue_basic.set`), scheduled.join('\n'));
      assert.ok(scheduled.includes(`${q} keyvalue_basic.get`), scheduled.join('\n'));
      assert.ok(scheduled.includes(`${q} ${LIST_SLOT}.replicas.identify`), scheduled.join('\n'));
    }
  });

  it("one element's backend down: only its breaker opens, the other element keeps serving", async () => {
    const base = `http://127.0.0.1:${worker.httpPort}`;
    redisB.down();

    const key = uniqueName('list-down');
    const { outcomes } = await run(key, 'while-b-is-down');
    assert.equal(outcomes[0].readBack, 'while-b-is-down@ra', 'element 0 unaffected');
    assert.equal(outcomes[0].error, undefined);
    assert.equal(outcomes[1].backend, 'rb');
    assert.ok(outcomes[1].error, 'element 1 failed after its retries');
    assert.equal(await rawA.get(key), 'while-b-is-down@ra');

    const health = await waitFor('the rb breaker open', async () => {
      const body = (await (await fetch(`${base}/health`)).json()) as { status: string; openBreakers: string[] };
      return body.openBreakers.length > 0 ? body : undefined;
    });
    assert.deepEqual(health.openBreakers, ['rb'], 'only the failed element opened its breaker');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /prism_circuit_breaker_state\{backend="ra"\} 0/);
    assert.match(metrics, /prism_circuit_breaker_state\{backend="rb"\} [12]/);
    // Each element has its own bulkhead too (a gauge per backend).
    assert.match(metrics, /prism_bulkhead_in_flight\{backend="ra"\}/);
    assert.match(metrics, /prism_bulkhead_in_flight\{backend="rb"\}/);

    // With rb's breaker open (or probing), element 0 still serves; element 1 still fails.
    const again = await run(uniqueName('list-open'), 'again');
    assert.equal(again.outcomes[0].readBack, 'again@ra');
    assert.ok(again.outcomes[1].error);
  });
});
