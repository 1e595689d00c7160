// The walking skeleton end to end: client → Temporal → worker → Redis, and the history shows the
// activities that did it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Redis from 'ioredis';
import { PrismClient } from '../../src/client/prism-client';
import { stackEnv, uniqueName } from '../helpers/env';
import { startWorker, testConfig, type WorkerProcess } from '../helpers/worker-process';

describe('walking skeleton: kv-probe on Redis', () => {
  const taskQueue = uniqueName('skeleton');
  let worker: WorkerProcess;
  let client: PrismClient;
  let redis: Redis;

  before(async () => {
    worker = await startWorker(
      testConfig(taskQueue, {
        backends: { cache: { driver: 'redis', config: { url: stackEnv.redisUrl } } },
        patterns: {
          'kv-probe': {
            slots: { store: 'cache' },
            activity: { start_to_close_timeout: '10s', retry: { initial_interval: '200ms', maximum_attempts: 5 } },
          },
        },
      }),
    );
    client = await PrismClient.connect({ taskQueue });
    redis = new Redis(stackEnv.redisUrl);
  });

  after(async () => {
    await client?.close();
    redis?.disconnect();
    await worker?.stop();
  });

  it('writes through an activity, reads it back, and the value is in Redis', async () => {
    const key = uniqueName('probe');
    const started = await client.start('kvProbeWorkflow', [{ key, value: 'héllo ✓' }], { pattern: 'kv-probe' });
    assert.match(
      started.uiUrl,
      new RegExp(`/namespaces/default/workflows/${started.workflowId}/${started.runId}/history$`),
    );
    const result = await started.handle.result();
    assert.deepEqual(result, { key, written: 'héllo ✓', readBack: 'héllo ✓', backend: 'cache' });
    assert.equal(await redis.get(key), 'héllo ✓');

    const history = await started.handle.fetchHistory();
    const scheduled = (history.events ?? [])
      .map((e) => e.activityTaskScheduledEventAttributes)
      .filter((a) => a != null);
    assert.deepEqual(
      scheduled.map((a) => a.activityType?.name),
      ['keyvalue_basic.set', 'keyvalue_basic.get'],
    );
    assert.equal(scheduled[0].taskQueue?.name, `${taskQueue}.backend.cache`);
    assert.equal(scheduled[0].retryPolicy?.maximumAttempts, 5);
    const d = await started.handle.describe();
    assert.equal(d.status.name, 'COMPLETED');
    assert.equal(d.typedSearchAttributes.get({ name: 'PrismPattern', type: 'KEYWORD' } as never), 'kv-probe');
  });

  it('refuses bad workflow input with a non-retryable failure naming the field', async () => {
    const started = await client.start('kvProbeWorkflow', [{ key: '', value: 'x' }], { pattern: 'kv-probe' });
    await assert.rejects(started.handle.result(), (err: Error) => {
      const cause = (err as { cause?: { type?: string; message?: string } }).cause;
      assert.equal(cause?.type, 'InvalidInput');
      assert.match(cause?.message ?? '', /input\.key/);
      return true;
    });
  });

  it('serves /health, /ready and /metrics', async () => {
    const base = `http://127.0.0.1:${worker.httpPort}`;
    const health = await fetch(`${base}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'OK', openBreakers: [] });
    assert.equal((await fetch(`${base}/ready`)).status, 200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(
      metrics,
      /prism_driver_operations_total\{[^}]*backend="cache"[^}]*operation="keyvalue_basic.set"[^}]*\} [1-9]/,
    );
  });
});
