// SIGTERM while a slow activity runs: within the grace time it finishes and the worker exits 0;
// past it, the activity is handed back for retry and the worker exits 2. Either way the
// workflow completes once a worker is back, and the write is there.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Redis from 'ioredis';
import { PrismClient } from '../../src/client/prism-client';
import { stackEnv, uniqueName } from '../helpers/env';
import { DIST_ROOT, startWorker, testConfig, waitFor } from '../helpers/worker-process';

const FIXTURE_MAIN = join(DIST_ROOT, 'test/fixtures/worker-main.js');

function config(taskQueue: string, grace: string): Record<string, unknown> {
  return testConfig(taskQueue, {
    backends: { cache: { driver: 'redis', config: { url: stackEnv.redisUrl } } },
    patterns: {
      'slow-write': {
        slots: { store: 'cache' },
        activity: { start_to_close_timeout: '60s', retry: { initial_interval: '200ms', maximum_interval: '1s' } },
      },
    },
    worker: { shutdown_grace_time: grace, shutdown_force_time: '40s' },
  });
}

describe('graceful shutdown', () => {
  let client: PrismClient;
  let redis: Redis;
  before(async () => {
    redis = new Redis(stackEnv.redisUrl);
  });
  after(async () => {
    redis.disconnect();
    await client?.close();
  });

  it('lets an in-flight activity finish within the grace time, then exits 0', async () => {
    const taskQueue = uniqueName('drain');
    const worker = await startWorker(config(taskQueue, '20s'), { main: FIXTURE_MAIN });
    client = await PrismClient.connect({ taskQueue });
    const key = uniqueName('slow');
    const started = await client.start('slowWriteWorkflow', [{ key, value: 'done', ms: 2500 }], {
      pattern: 'slow-write',
    });
    await waitFor('activity start', () => redis.exists(`${key}:started`));
    const code = await worker.stop('SIGTERM');
    assert.equal(code, 0, worker.output());
    assert.equal(await redis.get(key), 'done', 'the in-flight write finished before exit');

    const again = await startWorker(config(taskQueue, '20s'), { main: FIXTURE_MAIN });
    try {
      assert.equal(await started.handle.result(), 'written');
      assert.equal(await redis.get(`${key}:started`), '1', 'the activity ran once');
    } finally {
      await again.stop();
    }
    await client.close();
  });

  it('hands the activity back for retry past the grace time, exits 2, and the retry completes', async () => {
    const taskQueue = uniqueName('overrun');
    const worker = await startWorker(config(taskQueue, '1s'), { main: FIXTURE_MAIN });
    client = await PrismClient.connect({ taskQueue });
    const key = uniqueName('slow');
    const started = await client.start('slowWriteWorkflow', [{ key, value: 'done', ms: 8000 }], {
      pattern: 'slow-write',
    });
    await waitFor('activity start', () => redis.exists(`${key}:started`));
    const code = await worker.stop('SIGTERM');
    assert.equal(code, 2, worker.output());
    assert.equal(await redis.get(key), null, 'the cut-short activity did not write');

    const again = await startWorker(config(taskQueue, '20s'), { main: FIXTURE_MAIN });
    try {
      assert.equal(await started.handle.result(), 'written');
      assert.equal(await redis.get(key), 'done');
      assert.equal(Number(await redis.get(`${key}:started`)) >= 2, true, 'a later attempt did the write');
    } finally {
      await again.stop();
    }
  });
});
