// One backend hangs; activities of another backend keep completing meanwhile, because each
// backend has its own task queue and slots, and the hung one's work waits in Temporal.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PrismClient, type Started } from '../../src/client/prism-client';
import { stackEnv, uniqueName } from '../helpers/env';
import { ExtraRedis } from '../helpers/extra-redis';
import { DIST_ROOT, startWorker, testConfig, type WorkerProcess } from '../helpers/worker-process';

const FIXTURE_MAIN = join(DIST_ROOT, 'test/fixtures/worker-main.js');

async function timed(run: () => Promise<unknown>): Promise<number> {
  const start = Date.now();
  await run();
  return Date.now() - start;
}

describe('backend isolation', () => {
  const slowServer = new ExtraRedis('hang', Number(process.env.PRISM_TEST_HANG_REDIS_PORT ?? 6392));
  const taskQueue = uniqueName('isolation');
  let worker: WorkerProcess;
  let client: PrismClient;

  before(async () => {
    slowServer.up();
    worker = await startWorker(
      testConfig(taskQueue, {
        backends: {
          fast: { driver: 'redis', config: { url: stackEnv.redisUrl } },
          slow: {
            driver: 'redis',
            config: { url: slowServer.url, commandTimeoutMs: 60_000 },
            bulkhead: { capacity: 2, queue: 2, timeout: '1s' },
          },
        },
        patterns: {
          'kv-probe': { slots: { store: 'fast' } },
          'slow-write': {
            slots: { store: 'slow' },
            activity: { start_to_close_timeout: '90s', retry: { initial_interval: '500ms', maximum_interval: '2s' } },
          },
        },
      }),
      { main: FIXTURE_MAIN },
    );
    client = await PrismClient.connect({ taskQueue });
  });

  after(async () => {
    await client?.close();
    await worker?.stop('SIGKILL');
    try {
      slowServer.resume();
    } catch {
      // already running
    }
    slowServer.down();
  });

  it('a hung backend does not slow the other backend down', async () => {
    const probe = (tag: string) =>
      client
        .start('kvProbeWorkflow', [{ key: uniqueName(tag), value: tag }], { pattern: 'kv-probe' })
        .then((s) => s.handle.result());

    const before: number[] = [];
    for (let i = 0; i < 10; i++) before.push(await timed(() => probe('before')));

    slowServer.hang();
    const stuck: Started[] = [];
    for (let i = 0; i < 8; i++) {
      stuck.push(
        await client.start('slowWriteWorkflow', [{ key: uniqueName('stuck'), value: 'v', ms: 0 }], {
          pattern: 'slow-write',
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 1000)); // let them take the slow backend's slots

    const during: number[] = [];
    for (let i = 0; i < 20; i++) during.push(await timed(() => probe('during')));
    for (const s of stuck) assert.equal((await s.handle.describe()).status.name, 'RUNNING', 'slow backend still hung');

    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    process.stdout.write(
      `# kv-probe median before hang ${median(before)} ms, during hang ${median(during)} ms (ratio ${(median(during) / median(before)).toFixed(2)})\n`,
    );

    slowServer.resume();
    const results = await Promise.all(stuck.map((s) => s.handle.result()));
    assert.deepEqual(
      results,
      stuck.map(() => 'written'),
    );
  });
});
