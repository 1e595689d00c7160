// Multicast (Redis registry, NATS messaging) next to raw clients, in the same run. Each size is a
// registry of its own of N identities, half of which match the filter ({"half": true}).
//   - Prism: the client's startMulticast with default options (as `prism multicast send` starts
//     it), on a worker configured as the tests configure it;
//   - raw: ioredis SCAN + MGET of the registry's keys, filtered in the loop, one @nats-io core
//     publish per target and one flush (bench/cases/multicast-loop.ts, a process of its own).
// Both are timed from the start call until an independent NATS subscriber has heard from every
// matching identity. History: the events and bytes of each run of the multicast workflow
// (continue-as-new runs followed back), the largest run reported.
// Memory: the worker's RSS and the raw loop process's, sampled every 100 ms from /proc while each
// is idle after the warm-up, and while each runs a size.
// BENCH_MULTICAST_SIZES (default 10000,100000; 10000 with --quick) changes the sizes,
// BENCH_MULTICAST_MILLION=1 (bench/run --million) adds 1,000,000. Sizes above
// BENCH_MULTICAST_REPEAT_MAX (default 10000) run in the first repetition only.
import { randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import Redis from 'ioredis';
import { MulticastRegistryClient } from '../../src/client/multicast-registry';
import { PrismClient } from '../../src/client/prism-client';
import { stackEnv } from '../../test/helpers/env';
import { startWorker } from '../../test/helpers/worker-process';
import { stacks, workerConfig, type RegistryHandle, type Stack } from '../../test/patterns/multicast-registry/stacks';
import { sampleRss, sampleRssFor } from '../lib/rss';
import { median } from '../lib/stats';
import type { BenchCase, Measurement } from '../lib/types';
import { loopProcess, type LoopProcess } from './multicast-loop';

function sizesFromEnv(): number[] {
  const fallback = process.env.BENCH_QUICK === '1' ? '10000' : '10000,100000';
  const sizes = (process.env.BENCH_MULTICAST_SIZES ?? fallback).split(',').map(Number);
  if (process.env.BENCH_MULTICAST_MILLION === '1') sizes.push(1_000_000);
  if (sizes.some((s) => !Number.isInteger(s) || s < 2)) {
    throw new Error('BENCH_MULTICAST_SIZES: expected sizes like 10000,100000');
  }
  return [...new Set(sizes)].sort((a, b) => a - b);
}
const SIZES = sizesFromEnv();
const REPEAT_MAX = Number(process.env.BENCH_MULTICAST_REPEAT_MAX ?? 10_000);
const PAYLOAD = 'benchmark payload';
const FILTER_KEY = 'half';
const IDLE_MS = 2000;
const FILL_WIDTH = 500;
const BASELINE = 'ioredis SCAN+MGET, filter, @nats-io publish each, one flush';

/** One registry per size for the whole process (filled once: the repetitions only read it). */
let fixture: Promise<{ stack: Stack; registries: Map<number, string> }> | undefined;

function registriesFixture(prism: PrismClient, redis: RegistryHandle) {
  fixture ??= (async () => {
    const stack = stacks().find((s) => s.name === 'redis+nats')!;
    const registries = new Map<number, string>();
    for (const size of SIZES) {
      const name = `bench-${randomUUID().slice(0, 8)}`;
      registries.set(size, name);
      const registry = new MulticastRegistryClient(prism, name, { direct: redis });
      const t = performance.now();
      for (let i = 0; i < size; i += FILL_WIDTH) {
        await Promise.all(
          Array.from({ length: Math.min(FILL_WIDTH, size - i) }, (_, j) => {
            const n = i + j;
            return registry.register(
              `bench-${String(n).padStart(7, '0')}`,
              { [FILTER_KEY]: n % 2 === 0 },
              { ttlSeconds: 3 * 3600 },
            );
          }),
        );
      }
      process.stdout.write(` [registry of ${size} filled in ${((performance.now() - t) / 1000).toFixed(1)} s]`);
    }
    return { stack, registries };
  })();
  return fixture;
}

/** Events and encoded bytes of every run of a workflow (following continue-as-new back). */
async function histories(prism: PrismClient, workflowId: string): Promise<{ events: number; bytes: number }[]> {
  const runs: { events: number; bytes: number }[] = [];
  let runId: string | undefined;
  for (let i = 0; i < 1000; i++) {
    const history = await prism.temporal.workflow.getHandle(workflowId, runId).fetchHistory();
    const events = history.events ?? [];
    runs.push({ events: events.length, bytes: temporal.api.history.v1.History.encode(history).finish().length });
    runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
    if (!runId) break;
  }
  return runs;
}

const mib = (name: string, ours: number, baseline: number, size?: number): Measurement => ({
  name,
  unit: 'MiB',
  better: 'lower',
  ours,
  baseline,
  baselineName: 'raw loop process',
  size,
});

export const multicastCase: BenchCase = {
  id: 'multicast',
  title: 'Multicast on Redis + NATS vs raw ioredis + @nats-io',
  about:
    `Each size is a registry of N identities, half matching the filter. Prism: the client's startMulticast with default options on a worker, timed from the call until an independent NATS subscriber has heard from every matching identity. ` +
    `Baseline (raw, in a process of its own): ${BASELINE}, timed the same way. History rows: the largest run of the multicast workflow (continue-as-new runs followed back), in events and encoded bytes, with no baseline. ` +
    'RSS rows: the worker beside the raw loop process, sampled every 100 ms from /proc, idle for 2 s after the warm-up and while each runs the size named.',
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
      const { stack, registries } = await registriesFixture(prism, redis);
      worker = await startWorker(workerConfig(taskQueue, stack));
      const workerPid = worker.proc.pid!;
      const messaging = stack.messagingBackend as { config: { pubsubSubjectPrefix: string } };
      loop = await loopProcess({
        redisUrl: stackEnv.redisUrl,
        natsUrl: stackEnv.natsUrl,
        subjectPrefix: messaging.config.pubsubSubjectPrefix,
      });
      // Warm-up (worker, connections, JIT) on the smallest registry, before anyone listens.
      {
        const name = registries.get(SIZES[0]!)!;
        const registry = new MulticastRegistryClient(prism, name, { direct: redis });
        await (await registry.startMulticast({ [FILTER_KEY]: true }, PAYLOAD)).result();
        await loop.run({
          registryName: name,
          filterKey: FILTER_KEY,
          topicPrefix: `multicast.${name}.`,
          payload: PAYLOAD,
        });
      }
      const [workerIdle, loopIdle] = await Promise.all([
        sampleRssFor(workerPid, IDLE_MS),
        sampleRssFor(loop.pid, IDLE_MS),
      ]);
      memory.push(mib('RSS idle after warm-up (median)', median(workerIdle), median(loopIdle)));

      for (const size of sizes) {
        const registryName = registries.get(size)!;
        const registry = new MulticastRegistryClient(prism, registryName, { direct: redis });
        const topicPrefix = `multicast.${registryName}.`;
        const targets = size / 2;
        const timeout = 120_000 + size * 5;

        let listener = await stack.listen(topicPrefix);
        let rss = sampleRss(workerPid);
        let t = performance.now();
        const handle = await registry.startMulticast({ [FILTER_KEY]: true }, PAYLOAD);
        const oursHeard = (await listener.collect(targets, timeout)).counts.size;
        const oursMs = performance.now() - t;
        const report = await handle.result();
        const oursRss = rss.stop();
        await listener.close();
        if (report.delivered !== targets) {
          process.stderr.write(`[bench] multicast ${size}: delivered ${report.delivered} of ${targets}\n`);
        }
        const runs = await histories(prism, handle.workflowId).catch(() => []);

        listener = await stack.listen(topicPrefix);
        rss = sampleRss(loop.pid);
        t = performance.now();
        const { sent } = await loop.run({ registryName, filterKey: FILTER_KEY, topicPrefix, payload: PAYLOAD });
        const loopHeard = (await listener.collect(targets, timeout)).counts.size;
        const loopMs = performance.now() - t;
        const loopRss = rss.stop();
        await listener.close();
        if (sent !== targets) process.stderr.write(`[bench] multicast raw ${size}: sent ${sent} of ${targets}\n`);

        const n = `${size.toLocaleString('en-US')} identities (${targets.toLocaleString('en-US')} match)`;
        out.push(
          {
            name: `targets/s, ${n}`,
            series: 'multicast',
            unit: 'targets/s',
            better: 'higher',
            ours: (targets / oursMs) * 1000,
            baseline: (targets / loopMs) * 1000,
            baselineName: BASELINE,
            size,
          },
          {
            name: `% of targets heard by the subscriber, ${n}`,
            unit: '%',
            better: 'higher',
            ours: (oursHeard / targets) * 100,
            baseline: (loopHeard / targets) * 100,
            baselineName: BASELINE,
            size,
          },
        );
        if (runs.length > 0) {
          const largest = runs.reduce((a, b) => (b.bytes > a.bytes ? b : a));
          out.push(
            {
              name: `history of the largest run (${runs.length} run${runs.length === 1 ? '' : 's'}), ${n}`,
              unit: 'KiB',
              better: 'lower',
              ours: largest.bytes / 1024,
              baseline: NaN,
              baselineName: 'none',
              size,
            },
            {
              name: `history events of the largest run, ${n}`,
              unit: 'events',
              better: 'lower',
              ours: largest.events,
              baseline: NaN,
              baselineName: 'none',
              size,
            },
          );
        }
        memory.push(
          mib(`RSS during ${n} (median)`, median(oursRss), median(loopRss), size),
          mib(`RSS during ${n} (peak)`, Math.max(...oursRss), Math.max(...loopRss), size),
        );
      }
    } finally {
      await worker?.stop();
      await loop?.close();
      await prism.close();
      await redis.close();
    }
    return [...out, ...memory];
  },
  /**
   * Removes every key of the registries: identities, the multicasts' marks and report rows, and
   * the CAS version key the Redis driver keeps beside each registered identity (`\xffv\xff<key>`,
   * src/drivers/redis/context.ts). Left behind, those add to the keyspace every later SCAN walks
   * (ours and the baseline's), so each run would slow the next.
   */
  async teardown() {
    if (!fixture) return;
    const { registries } = await fixture;
    const redis = new Redis(stackEnv.redisUrl);
    const versionOf = Buffer.from([0xff, 0x76, 0xff]);
    try {
      for (const name of registries.values()) {
        for (const pattern of [
          Buffer.from(`mcr/${name}/*`),
          Buffer.concat([versionOf, Buffer.from(`mcr/${name}/*`)]),
        ]) {
          let cursor = '0';
          do {
            // SCAN by hand: ioredis types a MATCH pattern as a string, and the version keys' is bytes.
            const [next, keys] = (await redis.callBuffer('SCAN', cursor, 'MATCH', pattern, 'COUNT', 5000)) as [
              Buffer,
              Buffer[],
            ];
            cursor = next.toString();
            if (keys.length > 0) await redis.unlink(...keys);
          } while (cursor !== '0');
        }
      }
    } finally {
      redis.disconnect();
    }
  },
};
