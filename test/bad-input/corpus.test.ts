// Runs the whole bad-input corpus (test/bad-input/*.jsonl). Every entry must be refused with a
// clear message naming the field or argument, a non-zero exit or a non-retryable failure, no
// crash or stack trace, and nothing written to any backend.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Redis from 'ioredis';
import { stringify } from 'yaml';
import { PrismClient } from '../../src/client/prism-client';
import { isDriverError } from '../../src/drivers/errors';
import { memoryDriver } from '../../src/drivers/memory';
import { stackEnv, uniqueName } from '../helpers/env';
import {
  DIST_ROOT,
  runProcess,
  startWorker,
  testConfig,
  WORKER_MAIN,
  type WorkerProcess,
} from '../helpers/worker-process';
import type { BatchResult, BatchTask } from './batch-runner';
import { expand, label, loadCorpus, type CorpusEntry } from './corpus';

const CLI = join(DIST_ROOT, 'src/cli/main.js');
const BATCH_RUNNER = join(__dirname, 'batch-runner.js');
const STACK_TRACE = /\n\s+at .*\.js:\d+/;
const corpus = loadCorpus();
const of = (kind: CorpusEntry['kind']): CorpusEntry[] => corpus.filter((e) => e.kind === kind);

/** Runs `fn` over the items, `width` at a time, keeping results in order. */
async function pool<T, R>(items: readonly T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]);
      }
    }),
  );
  return results;
}

it('the corpus holds at least 100 entries of every kind', () => {
  const counts = Object.fromEntries(
    ['config', 'cli', 'workflow', 'driver'].map((k) => [k, of(k as CorpusEntry['kind']).length]),
  );
  process.stdout.write(`# bad-input corpus: ${corpus.length} entries ${JSON.stringify(counts)}\n`);
  assert.ok(corpus.length >= 100, `${corpus.length} entries`);
  for (const n of Object.values(counts)) assert.ok(n > 0);
  for (const e of corpus) assert.doesNotThrow(() => new RegExp(e.expect), label(e));
});

/** Runs config and CLI entries through the batch runner: one process, the binaries' entry points. */
async function runBatch(tasks: BatchTask[]): Promise<BatchResult[]> {
  const file = join(mkdtempSync(join(tmpdir(), 'prism-bad-batch-')), 'tasks.json');
  writeFileSync(file, JSON.stringify(tasks));
  const { code, stdout, stderr } = await runProcess([BATCH_RUNNER, file], { timeoutMs: 180_000 });
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout) as BatchResult[];
}

describe('bad configs: the worker exits 1 naming the field, before connecting anything', () => {
  const entries = of('config');
  const dir = mkdtempSync(join(tmpdir(), 'prism-bad-config-'));
  const files = entries.map((entry) => join(dir, `${entry.file.replace(/\W/g, '_')}-${entry.line}.yaml`));
  let results: BatchResult[] = [];

  before(async () => {
    entries.forEach((entry, i) => {
      const bytes =
        entry.input_base64 !== undefined
          ? Buffer.from(entry.input_base64, 'base64')
          : typeof entry.input === 'string'
            ? entry.input
            : stringify(expand(entry.input, 'unused'));
      writeFileSync(files[i], bytes);
    });
    results = await runBatch(files.map((file) => ({ kind: 'config', file })));
  });

  entries.forEach((entry, i) => {
    it(label(entry), () => {
      const { code, output } = results[i];
      assert.equal(code, 1, output);
      assert.ok(output.includes(files[i]), `names the file:\n${output}`);
      assert.match(output, new RegExp(entry.expect), output);
      assert.doesNotMatch(output, STACK_TRACE, 'no stack trace');
      assert.doesNotMatch(output, /backend connected|worker running/, 'nothing connected');
    });
  });

  it('a real worker process exits 1 on the first bad config (the batch runs the same main())', async () => {
    const { code, stderr } = await runProcess([WORKER_MAIN, '--config', files[0]]);
    assert.equal(code, 1);
    assert.match(stderr, new RegExp(entries[0].expect));
  });
});

describe('bad CLI invocations: usage or error exit, the argument named', () => {
  const entries = of('cli');
  let results: BatchResult[] = [];

  before(async () => {
    results = await runBatch(
      entries.map((entry) => ({ kind: 'cli', argv: expand(entry.input, 'unused') as string[] })),
    );
  });

  entries.forEach((entry, i) => {
    it(label(entry), () => {
      const { code, output } = results[i];
      assert.equal(code, entry.code ?? 2, output);
      assert.match(output, new RegExp(entry.expect), output);
      if ((entry.code ?? 2) === 2) assert.match(output, /usage:/i);
      assert.doesNotMatch(output, STACK_TRACE, 'no stack trace');
    });
  });

  it('the real binary exits 2 on a usage error', async () => {
    const { code, stderr } = await runProcess([CLI, 'launch']);
    assert.equal(code, 2);
    assert.match(stderr, /unknown command 'launch'/);
  });
});

describe('bad workflow inputs: a non-retryable failure naming the field, nothing written', () => {
  const entries = of('workflow');
  const taskQueue = uniqueName('bad-input');
  const prefix = uniqueName('badinput');
  let worker: WorkerProcess;
  let client: PrismClient;
  let redis: Redis;
  let outcomes: { error?: Error; activities: string[] }[] = [];

  before(async () => {
    worker = await startWorker(
      testConfig(taskQueue, {
        backends: { cache: { driver: 'redis', config: { url: stackEnv.redisUrl } } },
        patterns: { 'kv-probe': { slots: { store: 'cache' } } },
      }),
    );
    client = await PrismClient.connect({ taskQueue });
    redis = new Redis(stackEnv.redisUrl);
    outcomes = await pool(entries, 8, async (entry) => {
      try {
        const started = await client.start(entry.target ?? 'kvProbeWorkflow', [expand(entry.input, prefix)], {
          pattern: entry.pattern ?? 'kv-probe',
          workflowId: uniqueName('bad-input-wf'),
        });
        const error = await started.handle.result().then(
          () => undefined,
          (err: Error) => err,
        );
        const history = await started.handle.fetchHistory();
        const activities = (history.events ?? [])
          .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
          .filter((n): n is string => typeof n === 'string');
        return { error, activities };
      } catch (err) {
        return { error: err as Error, activities: [] }; // refused before it started (e.g. too large)
      }
    });
  });

  after(async () => {
    await client?.close();
    redis?.disconnect();
    await worker?.stop();
  });

  entries.forEach((entry, i) => {
    it(label(entry), () => {
      const { error, activities } = outcomes[i];
      assert.ok(error, 'the workflow failed');
      const cause = (error as { cause?: { type?: string; message?: string; nonRetryable?: boolean } }).cause;
      const message = cause?.message ?? error.message;
      assert.match(message, new RegExp(entry.expect), message);
      if (cause?.type !== undefined) {
        assert.equal(cause.type, 'InvalidInput');
        assert.equal(cause.nonRetryable, true);
      }
      assert.deepEqual(activities, [], 'no activity ran');
    });
  });

  it("nothing was written under the run's key prefix", async () => {
    const [, keys] = await redis.scan('0', 'MATCH', `${prefix}*`, 'COUNT', 100_000);
    assert.deepEqual(keys, []);
    assert.equal(worker.proc.exitCode, null, 'the worker is still running');
    assert.doesNotMatch(worker.output(), /"level":"error"/);
  });
});

describe('bad driver inputs (memory driver): a typed, non-retryable DriverError, nothing stored', () => {
  for (const entry of of('driver')) {
    it(label(entry), async () => {
      const driver = await memoryDriver.create(memoryDriver.configSchema.parse(entry.driver_config ?? {}), {
        backend: 'bad-input',
      });
      try {
        const op = (driver as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[entry.target!];
        assert.equal(typeof op, 'function', `memory driver has ${entry.target}`);
        await assert.rejects(op.apply(driver, expand(entry.input, 'p') as unknown[]), (err: Error) => {
          assert.ok(isDriverError(err), `${err.name}: ${err.message}`);
          assert.equal(err.code, entry.code);
          assert.equal(err.retryable, false);
          assert.match(err.message, new RegExp(entry.expect));
          return true;
        });
        const page = await driver.scan!('');
        assert.deepEqual(page.keys, [], 'nothing stored');
      } finally {
        await driver.close();
      }
    });
  }
});
