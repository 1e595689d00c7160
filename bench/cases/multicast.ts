// Multicast (Redis registry, NATS messaging) at several sizes, next to a plain loop that scans the
// same registry and publishes the same messages to the same topics with the nats driver, 32 in
// flight. Times are wall clock: the multicast from start to its final report (enumeration
// included), the loop from its first scan to its last publish. An independent NATS subscriber
// counts the distinct targets that received each one ("accounted for").
// The registry is filled once per process (every size is a filter over the same identities);
// BENCH_MULTICAST_SIZES=1000,5000,10000,100000 changes the sizes.
import { randomUUID } from 'node:crypto';
import { identityPrefix, type RegistryDriver } from '../../src/activities/multicast-registry/registry-store';
import { MulticastRegistryClient } from '../../src/client/multicast-registry';
import { PrismClient } from '../../src/client/prism-client';
import { builtinDrivers } from '../../src/drivers/builtin';
import type { PubSubBasic } from '../../src/drivers/capabilities';
import type { Driver } from '../../src/drivers/driver';
import { startWorker } from '../../test/helpers/worker-process';
import { stacks, workerConfig, type Stack } from '../../test/patterns/multicast-registry/stacks';
import type { BenchCase, Measurement } from '../lib/types';

const SIZES = (process.env.BENCH_MULTICAST_SIZES ?? '1000,5000,10000').split(',').map(Number);
const BATCH_SIZE = 250;
const CONCURRENCY = 8;
const PAGE_SIZE = 1000;
const LOOP_WIDTH = 32;
const PAYLOAD = 'benchmark payload';

let fixture: Promise<{ stack: Stack; registryName: string }> | undefined;

/** One registry for the whole process: the largest size's identities, tagged with each size they belong to. */
function registryFixture(prism: PrismClient, redis: Driver & RegistryDriver) {
  fixture ??= (async () => {
    const stack = stacks().find((s) => s.name === 'redis+nats')!;
    const registryName = `bench-${randomUUID().slice(0, 8)}`;
    const registry = new MulticastRegistryClient(prism, registryName, { direct: redis });
    const max = Math.max(...SIZES);
    for (let i = 0; i < max; i += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, max - i) }, (_, j) => {
          const n = i + j;
          const metadata = Object.fromEntries(SIZES.map((s) => [`s${s}`, n < s]));
          return registry.register(`bench-${String(n).padStart(6, '0')}`, metadata, { ttlSeconds: 3600 });
        }),
      );
    }
    return { stack, registryName };
  })();
  return fixture;
}

async function natsDriver(config: Record<string, unknown>): Promise<Driver & PubSubBasic> {
  const factory = builtinDrivers().get('nats')!;
  return (await factory.create(factory.configSchema.parse(config), { backend: 'bench-nats' })) as Driver & PubSubBasic;
}

/** The baseline: scan the registry's keys, read the records, keep the matching ones, publish. */
async function plainLoop(
  redis: RegistryDriver,
  pubsub: PubSubBasic,
  registryName: string,
  filterKey: string,
  topicPrefix: string,
): Promise<number> {
  const bytes = new TextEncoder().encode(PAYLOAD);
  const decoder = new TextDecoder();
  let cursor: string | null = null;
  let sent = 0;
  do {
    const page = await redis.scan(identityPrefix(registryName), { cursor, limit: PAGE_SIZE });
    cursor = page.cursor;
    const values = redis.getMany
      ? await redis.getMany(page.keys)
      : await Promise.all(page.keys.map((k) => redis.get(k)));
    const identities: string[] = [];
    for (const v of values) {
      if (v === null) continue;
      const record = JSON.parse(decoder.decode(v)) as { identity: string; metadata: Record<string, unknown> };
      if (record.metadata[filterKey] === true) identities.push(record.identity);
    }
    let next = 0;
    await Promise.all(
      Array.from({ length: LOOP_WIDTH }, async () => {
        while (next < identities.length) {
          await pubsub.publish(topicPrefix + identities[next++], bytes, { 'content-type': 'text/plain' });
        }
      }),
    );
    sent += identities.length;
  } while (cursor !== null);
  return sent;
}

export const multicastCase: BenchCase = {
  id: 'multicast',
  title: 'Multicast on Redis + NATS vs a scan-and-publish loop',
  async run(): Promise<Measurement[]> {
    const taskQueue = `bench-multicast-${randomUUID().slice(0, 8)}`;
    const probe = stacks().find((s) => s.name === 'redis+nats')!;
    const redis = await probe.registryDriver();
    const prism = await PrismClient.connect({ taskQueue });
    const out: Measurement[] = [];
    let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
    let nats: (Driver & PubSubBasic) | undefined;
    try {
      const { stack, registryName } = await registryFixture(prism, redis);
      worker = await startWorker(workerConfig(taskQueue, stack));
      nats = await natsDriver(stack.messagingBackend.config as Record<string, unknown>);
      const registry = new MulticastRegistryClient(prism, registryName, { direct: redis });
      const topicPrefix = `multicast.${registryName}.`;
      const smallest = `s${Math.min(...SIZES)}`;
      // Warm-up (worker, connections, JIT) on the smallest size, before anyone listens.
      await registry.multicast({ [smallest]: true }, PAYLOAD, { batchSize: BATCH_SIZE, concurrency: CONCURRENCY });
      await plainLoop(redis, nats, registryName, smallest, topicPrefix);

      for (const size of SIZES) {
        const filterKey = `s${size}`;
        const timeout = 60_000 + size * 5;
        let listener = await stack.listen(topicPrefix);
        let t = performance.now();
        const report = await registry.multicast({ [filterKey]: true }, PAYLOAD, {
          batchSize: BATCH_SIZE,
          concurrency: CONCURRENCY,
          pageSize: PAGE_SIZE,
        });
        const oursMs = performance.now() - t;
        const oursHeard = (await listener.collect(size, timeout)).counts.size;
        await listener.close();
        if (report.delivered !== size)
          process.stderr.write(`[bench] multicast ${size}: delivered ${report.delivered}\n`);

        listener = await stack.listen(topicPrefix);
        t = performance.now();
        await plainLoop(redis, nats, registryName, filterKey, topicPrefix);
        const loopMs = performance.now() - t;
        const loopHeard = (await listener.collect(size, timeout)).counts.size;
        await listener.close();

        const n = size.toLocaleString('en-US');
        const baselineName = `scan + publish loop, ${LOOP_WIDTH} in flight`;
        out.push(
          {
            name: `targets/s, ${n} targets`,
            series: 'multicast',
            unit: 'targets/s',
            better: 'higher',
            ours: (size / oursMs) * 1000,
            baseline: (size / loopMs) * 1000,
            baselineName,
            size,
          },
          {
            name: `% of targets accounted for, ${n} targets`,
            unit: '%',
            better: 'higher',
            ours: (Math.min(oursHeard, report.delivered) / size) * 100,
            baseline: (loopHeard / size) * 100,
            baselineName,
            size,
          },
        );
      }
    } finally {
      await worker?.stop();
      await prism.close();
      await nats?.close();
      await redis.close();
    }
    return out;
  },
};
