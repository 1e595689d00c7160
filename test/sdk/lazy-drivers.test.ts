// Modular drivers: a worker configured for Redis + NATS never loads pg or kafkajs, and a driver
// whose client library is missing fails with an error naming the package. Also measures start-up
// time (spawn → /ready) and resident memory against a worker that creates all five drivers.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { z } from 'zod';
import {
  DriverError,
  DriverRegistry,
  builtinDrivers,
  requireClient,
  type Driver,
  type DriverFactory,
} from '../../src/index';
import { stackEnv, uniqueName } from '../helpers/env';
import { runProcess, testConfig, writeConfig } from '../helpers/worker-process';
import { loadedPackage, startMeasuredWorker, type MeasuredWorker } from './support/measured-worker';

const CLIENT_PACKAGES = ['ioredis', '@nats-io/transport-node', 'pg', 'kafkajs'] as const;

const backends = {
  memory: { driver: 'memory' },
  redis: { driver: 'redis', config: { url: stackEnv.redisUrl } },
  postgres: { driver: 'postgres', config: { url: stackEnv.postgresUrl } },
  nats: { driver: 'nats', config: { servers: stackEnv.natsUrl } },
  kafka: { driver: 'kafka', config: { brokers: stackEnv.kafkaBrokers } },
};

function probeConfig(taskQueue: string, use: (keyof typeof backends)[]): Record<string, unknown> {
  return testConfig(taskQueue, {
    // Every backend is declared; only those bound to a slot are created.
    backends,
    patterns: { 'sdk-driver-probe': { slots: Object.fromEntries(use.map((b) => [b, b])) } },
  });
}

interface Measured {
  worker: MeasuredWorker;
  modules: string[];
}

describe('lazy drivers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prism-lazy-'));
  const running: MeasuredWorker[] = [];
  after(async () => {
    for (const w of running) await w.stop().catch(() => undefined);
  });

  async function measure(label: string, use: (keyof typeof backends)[]): Promise<Measured> {
    const worker = await startMeasuredWorker(probeConfig(uniqueName('sdk-lazy'), use), join(dir, `${label}.txt`));
    running.push(worker);
    const { code, modules } = await worker.stop();
    running.splice(running.indexOf(worker), 1);
    assert.equal(code, 0, worker.output());
    return { worker, modules };
  }

  it('a Redis + NATS worker never loads pg or kafkajs; an all-driver worker loads them all', async () => {
    // Warm the OS file cache once, then alternate the two so machine load hits both alike.
    await measure('warm-up', ['redis', 'nats']);
    const rounds = { two: [] as Measured[], five: [] as Measured[] };
    for (let round = 0; round < 2; round++) {
      rounds.two.push(await measure(`redis-nats-${round}`, ['redis', 'nats']));
      rounds.five.push(await measure(`all-five-${round}`, ['memory', 'redis', 'postgres', 'nats', 'kafka']));
    }

    const loaded = (modules: string[]) => CLIENT_PACKAGES.filter((p) => loadedPackage(modules, p));
    for (const two of rounds.two) {
      assert.deepEqual(loaded(two.modules), ['ioredis', '@nats-io/transport-node']);
      assert.equal(loadedPackage(two.modules, 'pg-protocol'), false);
    }
    for (const five of rounds.five) assert.deepEqual(loaded(five.modules), [...CLIENT_PACKAGES]);

    const line = (label: string, runs: Measured[]) =>
      `# ${label}: ready in ${runs.map((m) => m.worker.readyMs.toFixed(0)).join(' / ')} ms, ` +
      `RSS ${runs.map((m) => m.worker.rssMiB.toFixed(1)).join(' / ')} MiB, ${runs[0].modules.length} modules loaded\n`;
    process.stdout.write(line('redis+nats worker', rounds.two));
    process.stdout.write(line('all-five-drivers worker', rounds.five));
  });
});

describe('missing client library', () => {
  // A user's driver whose client library is not installed.
  const acmeDriver: DriverFactory<z.ZodObject> = {
    name: 'acme',
    capabilities: ['keyvalue_basic'],
    configSchema: z.object({}),
    async create(): Promise<Driver> {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return requireClient('acme', 'acme-db-client', () => require('acme-db-client') as Driver);
    },
  };

  it('requireClient turns "module not found" into a DriverError naming the package', async () => {
    const factory = new DriverRegistry().register(acmeDriver).get('acme')!;
    await assert.rejects(factory.create({}, { backend: 'store' }), (err: unknown) => {
      assert.ok(err instanceof DriverError);
      assert.equal(err.code, 'Unsupported');
      assert.equal(err.retryable, false);
      assert.match(err.message, /needs the package "acme-db-client": run npm install acme-db-client/);
      return true;
    });
  });

  it('requireClient passes through other load errors unchanged', () => {
    const boom = new Error('syntax error in the client');
    assert.throws(
      () =>
        requireClient('acme', 'acme-db-client', () => {
          throw boom;
        }),
      (err) => err === boom,
    );
  });

  it('the built-in registry knows the five drivers', () => {
    assert.deepEqual(builtinDrivers().names(), ['kafka', 'memory', 'nats', 'postgres', 'redis']);
  });

  it('a worker whose config uses a driver without its client exits 1 naming the package', async () => {
    // The same failure through a real worker: a pg driver whose module resolution cannot see pg.
    const main = join(__dirname, 'fixtures/missing-client-worker-main.js');
    const file = writeConfig(
      testConfig(uniqueName('sdk-missing'), {
        backends: { store: { driver: 'acme' } },
        patterns: { 'kv-probe': { slots: { store: 'store' } } },
      }),
    );
    const result = await runProcess([main, '--config', file]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /backends\.store: cannot create the acme driver: .*npm install acme-db-client/);
  });
});
