// Multicast (Redis registry, NATS messaging) at several sizes, next to a plain loop that scans the
// same registry and publishes the same messages to the same topics with the nats driver, 32 in
// flight, in a process of its own (bench/cases/multicast-loop.ts). Times are wall clock: the
// multicast from start to its final report (enumeration included), the loop from its first scan
// to its last publish. An independent NATS subscriber counts the distinct targets that received
// each one ("accounted for").
// Memory (issue case 6, the worker under load): the worker's RSS and the loop process's, sampled
// every 100 ms from /proc while each is idle after the warm-up, and while each runs a size.
// The registry is filled once per process (every size is a filter over the same identities).
// BENCH_MULTICAST_SIZES (default 1000,10000,100000) changes the sizes; sizes above
// BENCH_MULTICAST_REPEAT_MAX (default 10000) run in the first repetition only.
import { randomUUID } from 'node:crypto';
import { identityPrefix } from '../../src/activities/multicast-registry/registry-store';
import { MulticastRegistryClient } from '../../src/client/multicast-registry';
import { PrismClient } from '../../src/client/prism-client';
import { startWorker } from '../../test/helpers/worker-process';
import { stacks, workerConfig, type RegistryHandle, type Stack } from '../../test/patterns/multicast-registry/stacks';
import { sampleRss, sampleRssFor } from '../lib/rss';
import { median } from '../lib/stats';
import type { BenchCase, Measurement } from '../lib/types';
import { LOOP_WIDTH, loopProcess, type LoopProcess } from './multicast-loop';

function sizesFromEnv(name: string, fallback: string): number[] {
  const sizes = (process.env[name] ?? fallback).split(',').map(Number);
  if (sizes.some((s) => !Number.isInteger(s) || s < 1)) throw new Error(`${name}: expected sizes like 1000,10000`);
  return sizes;
}
const SIZES = sizesFromEnv('BENCH_MULTICAST_SIZES', '1000,10000,100000');
const REPEAT_MAX = Number(process.env.BENCH_MULTICAST_REPEAT_MAX ?? 10_000);
/** Sizes whose memory is reported (the smaller ones finish within a few samples). */
const MEMORY_MIN_SIZE = 10_000;
const BATCH_SIZE = 250;
const CONCURRENCY = 8;
const PAGE_SIZE = 1000;
const PAYLOAD = 'benchmark payload';
const IDLE_MS = 2000;

let fixture: Promise<{ stack: Stack; registryName: string }> | undefined;

/** One registry for the whole process: the largest size's identities, tagged with each size they belong to. */
function registryFixture(prism: PrismClient, redis: RegistryHandle) {
  fixture ??= (async () => {
    const stack = stacks().find((s) => s.name === 'redis+nats')!;
    const registryName = `bench-${randomUUID().slice(0, 8)}`;
    const registry = new MulticastRegistryClient(prism, registryName, { direct: redis });
    const max = Math.max(...SIZES);
    const t = performance.now();
    for (let i = 0; i < max; i += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, max - i) }, (_, j) => {
          const n = i + j;
          const metadata = Object.fromEntries(SIZES.map((s) => [`s${s}`, n < s]));
          return registry.register(`bench-${String(n).padStart(6, '0')}`, metadata, { ttlSeconds: 3600 });
        }),
      );
    }
    process.stdout.write(` [registry of ${max} filled in ${((performance.now() - t) / 1000).toFixed(1)} s]`);
    return { stack, registryName };
  })();
  return fixture;
}

const mib = (name: string, ours: number, baseline: number, size?: number): Measurement => ({
  name,
  unit: 'MiB',
  better: 'lower',
  ours,
  baseline,
  baselineName: 'scan + publish loop process',
  size,
});

export const multicastCase: BenchCase = {
  id: 'multicast',
  title: 'Multicast on Redis + NATS vs a scan-and-publish loop (and worker memory under load)',
  about:
    'Throughput is wall clock from start to final report (enumeration included) for the multicast, first scan to last publish for the loop; "accounted for" is counted by an independent NATS subscriber. The loop runs in a process of its own, so the RSS rows compare the worker (Temporal worker, workflow bundle, Redis and NATS clients) with a process that holds only the Redis and NATS clients: sampled every 100 ms from /proc, idle for 2 s after the warm-up and while each runs the size named.',
  async run(repetition): Promise<Measurement[]> {
    const sizes = SIZES.filter((s) => repetition === 0 || s <= REPEAT_MAX);
    const taskQueue = `bench-multicast-${randomUUID().slice(0, 8)}`;
    const probe = stacks().find((s) => s.name === 'redis+nats')!;
    const redis = await probe.registryDriver();
    const prism = await PrismClient.connect({ taskQueue });
    const out: Measurement[] = [];
    const memory: Measurement[] = [];
    let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
    let loop: LoopProcess | undefined;
    try {
      const { stack, registryName } = await registryFixture(prism, redis);
      worker = await startWorker(workerConfig(taskQueue, stack));
      const workerPid = worker.proc.pid!;
      loop = await loopProcess(
        stack.registryBackend as { driver: string; config: Record<string, unknown> },
        stack.messagingBackend as { driver: string; config: Record<string, unknown> },
      );
      const registry = new MulticastRegistryClient(prism, registryName, { direct: redis });
      const topicPrefix = `multicast.${registryName}.`;
      const smallest = `s${Math.min(...SIZES)}`;
      // Warm-up (worker, connections, JIT) on the smallest size, before anyone listens.
      await registry.multicast({ [smallest]: true }, PAYLOAD, { batchSize: BATCH_SIZE, concurrency: CONCURRENCY });
      await loop.run({ registryName, filterKey: smallest, topicPrefix, payload: PAYLOAD });
      const [workerIdle, loopIdle] = await Promise.all([
        sampleRssFor(workerPid, IDLE_MS),
        sampleRssFor(loop.pid, IDLE_MS),
      ]);
      memory.push(mib('RSS idle after warm-up (median)', median(workerIdle), median(loopIdle)));

      for (const size of sizes) {
        const filterKey = `s${size}`;
        const timeout = 60_000 + size * 5;
        let listener = await stack.listen(topicPrefix);
        let rss = sampleRss(workerPid);
        let t = performance.now();
        const report = await registry.multicast({ [filterKey]: true }, PAYLOAD, {
          batchSize: BATCH_SIZE,
          concurrency: CONCURRENCY,
          pageSize: PAGE_SIZE,
        });
        const oursMs = performance.now() - t;
        const oursRss = rss.stop();
        const oursHeard = (await listener.collect(size, timeout)).counts.size;
        await listener.close();
        if (report.delivered !== size)
          process.stderr.write(`[bench] multicast ${size}: delivered ${report.delivered}\n`);

        listener = await stack.listen(topicPrefix);
        rss = sampleRss(loop.pid);
        t = performance.now();
        const { sent } = await loop.run({ registryName, filterKey, topicPrefix, payload: PAYLOAD });
        const loopMs = performance.now() - t;
        const loopRss = rss.stop();
        const loopHeard = (await listener.collect(size, timeout)).counts.size;
        await listener.close();
        if (sent !== size) process.stderr.write(`[bench] multicast loop ${size}: sent ${sent}\n`);

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
        if (size >= MEMORY_MIN_SIZE) {
          memory.push(
            mib(`RSS during ${n} targets (median)`, median(oursRss), median(loopRss), size),
            mib(`RSS during ${n} targets (peak)`, Math.max(...oursRss), Math.max(...loopRss), size),
          );
        }
      }
    } finally {
      await worker?.stop();
      await loop?.close();
      await prism.close();
      await redis.close();
    }
    return [...out, ...memory];
  },
  /** Removes the registry's identities (they would otherwise stay for their hour of TTL). */
  async teardown() {
    if (!fixture) return;
    const { registryName } = await fixture;
    const redis = await stacks()
      .find((s) => s.name === 'redis+nats')!
      .registryDriver();
    try {
      let cursor: string | null = null;
      do {
        const page = await redis.scan(identityPrefix(registryName), { cursor, limit: 1000 });
        cursor = page.cursor;
        if (page.keys.length > 0)
          await (redis.deleteMany?.(page.keys) ?? Promise.all(page.keys.map((k) => redis.delete(k))));
      } while (cursor !== null);
    } finally {
      await redis.close();
    }
  },
};
