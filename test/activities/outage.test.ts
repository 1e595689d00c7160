// A backend outage longer than the breaker's reset timeout: the breaker opens (metric and
// /health show it), workflows wait instead of failing, and every one completes with its write
// in place once the backend is back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Redis from 'ioredis';
import { PrismClient, type Started } from '../../src/client/prism-client';
import { uniqueName } from '../helpers/env';
import { ExtraRedis } from '../helpers/extra-redis';
import { startWorker, testConfig, waitFor, type WorkerProcess } from '../helpers/worker-process';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('backend outage', () => {
  const redisServer = new ExtraRedis('outage', Number(process.env.PRISM_TEST_OUTAGE_REDIS_PORT ?? 6391));
  const taskQueue = uniqueName('outage');
  let worker: WorkerProcess;
  let client: PrismClient;

  before(async () => {
    redisServer.up();
    worker = await startWorker(
      testConfig(taskQueue, {
        backends: {
          cache: {
            driver: 'redis',
            config: { url: redisServer.url, commandTimeoutMs: 1000, connectTimeoutMs: 1000 },
            circuit_breaker: { max_failures: 3, reset_timeout: '2s' },
          },
        },
        patterns: {
          'kv-probe': {
            slots: { store: 'cache' },
            activity: { start_to_close_timeout: '5s', retry: { initial_interval: '200ms', maximum_interval: '1s' } },
          },
        },
      }),
    );
    client = await PrismClient.connect({ taskQueue });
  });

  after(async () => {
    await client?.close();
    await worker?.stop();
    redisServer.up();
    redisServer.down();
  });

  it('opens the breaker, loses no workflow and no write, and recovers', async () => {
    const base = `http://127.0.0.1:${worker.httpPort}`;
    const runs: { key: string; value: string; started: Started }[] = [];
    const startOne = async (i: number) => {
      const key = uniqueName(`outage-${i}`);
      const value = `value-${i}`;
      runs.push({
        key,
        value,
        started: await client.start('kvProbeWorkflow', [{ key, value }], { pattern: 'kv-probe' }),
      });
    };

    for (let i = 0; i < 10; i++) await startOne(i);
    await Promise.all(runs.map((r) => r.started.handle.result()));

    redisServer.down();
    for (let i = 10; i < 20; i++) await startOne(i);
    const health = await waitFor('breaker open', async () => {
      const res = await fetch(`${base}/health`);
      const body = (await res.json()) as { status: string; openBreakers: string[] };
      return body.status === 'DEGRADED' ? { code: res.status, body } : undefined;
    });
    assert.equal(health.code, 503);
    assert.deepEqual(health.body.openBreakers, ['cache']);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /prism_circuit_breaker_state\{backend="cache"\} [12]/);
    assert.match(metrics, /prism_circuit_breaker_transitions_total\{backend="cache",from="closed",to="open"\} [1-9]/);

    await sleep(3000); // longer than the reset timeout: probes fail and the breaker re-opens
    for (const run of runs.slice(10)) {
      assert.equal((await run.started.handle.describe()).status.name, 'RUNNING', 'waiting, not failed');
    }

    redisServer.up();
    const results = await Promise.all(runs.map((r) => r.started.handle.result()));
    results.forEach((result, i) =>
      assert.deepEqual(result, { key: runs[i].key, written: runs[i].value, readBack: runs[i].value, backend: 'cache' }),
    );

    const redis = new Redis(redisServer.url);
    try {
      for (const run of runs) assert.equal(await redis.get(run.key), run.value, `write of ${run.key} kept`);
    } finally {
      redis.disconnect();
    }
    await waitFor('breaker closed', async () => (await fetch(`${base}/health`)).status === 200);
    const after = await (await fetch(`${base}/metrics`)).text();
    assert.match(
      after,
      /prism_circuit_breaker_transitions_total\{backend="cache",from="half-open",to="closed"\} [1-9]/,
    );
  });
});
