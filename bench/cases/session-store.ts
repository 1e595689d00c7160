// The session store's fast path (the client's direct calls through each backend's guard) next to
// raw ioredis on the same Redis, in the same run. Reads: getData (getVersioned + EXPIRE for the
// sliding TTL) vs a raw GET. Writes: setData (getVersioned + compare-and-set + index refresh; no
// replication) vs a raw SET. Latencies are per call with one call in flight; ops/s are measured
// both one call at a time and with WIDTH calls in flight (each on its own session and raw key).
import Redis from 'ioredis';
import { SessionStore } from '../../src/client/session-store';
import { percentile } from '../lib/stats';
import type { BenchCase, Measurement } from '../lib/types';

const REDIS = process.env.PRISM_REDIS_URL ?? 'redis://127.0.0.1:6379';
const DB = 5;
const ITERATIONS = 5_000;
const WIDTH = 32;

interface Figures {
  p50: number;
  p99: number;
  sequentialOps: number;
  parallelOps: number;
}

/** fn(i, lane): lane is the caller's index among those in flight (0 when one at a time). */
async function measure(fn: (i: number, lane: number) => Promise<unknown>): Promise<Figures> {
  for (let i = 0; i < 500; i++) await fn(i, 0); // warm up
  const samples: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < ITERATIONS; i++) {
    const t = performance.now();
    await fn(i, 0);
    samples.push(performance.now() - t);
  }
  const sequentialOps = ITERATIONS / ((performance.now() - t0) / 1000);
  let next = 0;
  const t1 = performance.now();
  await Promise.all(
    Array.from({ length: WIDTH }, async (_, lane) => {
      while (next < ITERATIONS) await fn(next++, lane);
    }),
  );
  const parallelOps = ITERATIONS / ((performance.now() - t1) / 1000);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), sequentialOps, parallelOps };
}

export const sessionStoreCase: BenchCase = {
  id: 'session-store',
  title: 'Session store fast path vs raw ioredis',
  async run(): Promise<Measurement[]> {
    const raw = new Redis(`${REDIS}/${DB}`);
    const store = await SessionStore.connect({
      region: 'local',
      regions: { local: ['s0'] },
      backends: { s0: { driver: 'redis', config: { url: `${REDIS}/${DB}` } } },
    });
    try {
      // One session (and raw key) per lane: concurrent writes to one session would measure
      // compare-and-set conflicts, not the fast path.
      const sessions = await Promise.all(
        Array.from({ length: WIDTH }, () => store.createSession({ userId: 'bench' }, { ttlSeconds: 600 })),
      );
      const ids = sessions.map((s) => s.sessionId);
      const rawKeys = ids.map((id) => `bench:raw:${id}`);
      const rawValue = JSON.stringify({ name: 'bench', n: 1 });
      for (let lane = 0; lane < WIDTH; lane++) {
        await store.setData(ids[lane], 'profile', { name: 'bench', n: 1 });
        await raw.set(rawKeys[lane], rawValue);
      }

      const rawGet = await measure((_, lane) => raw.get(rawKeys[lane]));
      const get = await measure((_, lane) => store.getData(ids[lane], 'profile'));
      const rawSet = await measure((i, lane) => raw.set(rawKeys[lane], `${rawValue}${i}`));
      const set = await measure((i, lane) => store.setData(ids[lane], 'profile', { name: 'bench', n: i }));

      for (const id of ids) await store.deleteSession(id);
      await raw.del(...rawKeys);
      const pair = (op: string, ours: Figures, base: Figures, baselineName: string): Measurement[] => [
        { name: `${op} p50`, unit: 'ms', better: 'lower', ours: ours.p50, baseline: base.p50, baselineName },
        { name: `${op} p99`, unit: 'ms', better: 'lower', ours: ours.p99, baseline: base.p99, baselineName },
        {
          name: `${op} ops/s, 1 in flight`,
          unit: 'ops/s',
          better: 'higher',
          ours: ours.sequentialOps,
          baseline: base.sequentialOps,
          baselineName,
        },
        {
          name: `${op} ops/s, ${WIDTH} in flight`,
          unit: 'ops/s',
          better: 'higher',
          ours: ours.parallelOps,
          baseline: base.parallelOps,
          baselineName,
        },
      ];
      return [
        ...pair('get (getData)', get, rawGet, 'ioredis GET'),
        ...pair('set (setData)', set, rawSet, 'ioredis SET'),
      ];
    } finally {
      await store.close();
      raw.disconnect();
    }
  },
};
