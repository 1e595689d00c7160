// A long scan activity is killed mid-way (worker SIGKILL); after a restart the retry resumes
// from its last heartbeat, and the result has every key exactly once.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Redis from 'ioredis';
import { PrismClient } from '../../src/client/prism-client';
import { stackEnv, uniqueName } from '../helpers/env';
import { DIST_ROOT, startWorker, testConfig, waitFor } from '../helpers/worker-process';

const FIXTURE_MAIN = join(DIST_ROOT, 'test/fixtures/worker-main.js');
const KEYS = 3000;

describe('long activities resume from their heartbeat', () => {
  let redis: Redis;
  let client: PrismClient;
  const taskQueue = uniqueName('resume');
  const prefix = `${uniqueName('scan')}:`;
  const config = testConfig(taskQueue, {
    backends: { cache: { driver: 'redis', config: { url: stackEnv.redisUrl } } },
    patterns: {
      'slow-scan': {
        slots: { store: 'cache' },
        activity: { retry: { initial_interval: '200ms', maximum_interval: '1s' } },
      },
    },
  });

  before(async () => {
    redis = new Redis(stackEnv.redisUrl);
    const pipeline = redis.pipeline();
    for (let i = 0; i < KEYS; i++) pipeline.set(`${prefix}k${i}`, String(i));
    await pipeline.exec();
    client = await PrismClient.connect({ taskQueue });
  });

  after(async () => {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    redis.disconnect();
    await client.close();
  });

  it('a SIGKILLed scan resumes after restart with no duplicates or gaps', async () => {
    const progressKey = `${uniqueName('progress')}`;
    const first = await startWorker(config, { main: FIXTURE_MAIN });
    const started = await client.start(
      'slowScanWorkflow',
      [{ prefix, pageLimit: 100, pageDelayMs: 150, progressKey }],
      { pattern: 'slow-scan' },
    );
    await waitFor('a few pages', async () => Number(await redis.get(progressKey)) >= 14);
    await first.stop('SIGKILL');
    const pagesAtKill = Number(await redis.get(progressKey));

    const second = await startWorker(config, { main: FIXTURE_MAIN });
    try {
      const result = (await started.handle.result()) as { keys: string[]; pages: number; resumedFromPage: number };
      assert.equal(new Set(result.keys).size, result.keys.length, 'no duplicates');
      assert.equal(result.keys.length, KEYS, 'no gaps');
      for (let i = 0; i < KEYS; i++) assert.ok(result.keys.includes(`${prefix}k${i}`));
      assert.ok(result.resumedFromPage > 0, 'the retry started from heartbeat details, not from scratch');
      assert.ok(result.resumedFromPage <= pagesAtKill);
      process.stdout.write(
        `# killed at page ${pagesAtKill}, resumed from page ${result.resumedFromPage} of ${result.pages}\n`,
      );
    } finally {
      await second.stop();
    }
  });
});
