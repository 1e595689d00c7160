// The session store's fast path (the client's direct calls through each backend's guard) next to
// raw ioredis on the same Redis, in the same run. Reads: getData (one GET; the sliding TTL's
// EXPIRE at most once per 1% of the window) vs a raw GET. Writes: setData (one EVALSHA: the
// compare-and-set that also appends to the shard's change feed; no replication runs) vs a raw
// SET, and vs the write's floor: raw ioredis calling EVALSHA of the same Lua script with the same
// record bytes, keys and TTL (what no client of this data layout can go below). Latencies are
// per call with one call in flight; ops/s are measured both one call at a time and with WIDTH
// calls in flight (each on its own session and raw key). Everything lives under a key prefix of
// the run's own, removed at the end (with the feed stream, which nothing trims here).
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { SessionStore } from '../../src/client/session-store';
import { COMPARE_AND_SET_LOGGED } from '../../src/drivers/redis/lua';
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

/** call(i, lane): lane is the caller's index among those in flight (0 when one at a time). */
type Call = (i: number, lane: number) => Promise<unknown>;

/**
 * Each call's figures. One at a time, the contenders take turns call by call (not one after the
 * other), so a change in the machine's load meanwhile falls on all of them alike; with WIDTH in
 * flight each runs on its own.
 */
async function measure(calls: Call[]): Promise<Figures[]> {
  for (let i = 0; i < 500; i++) for (const call of calls) await call(i, 0); // warm up
  const samples = calls.map(() => [] as number[]);
  for (let i = 0; i < ITERATIONS; i++) {
    for (let c = 0; c < calls.length; c++) {
      const t = performance.now();
      await calls[c](i, 0);
      samples[c].push(performance.now() - t);
    }
  }
  const figures: Figures[] = [];
  for (let c = 0; c < calls.length; c++) {
    let next = 0;
    const t1 = performance.now();
    await Promise.all(
      Array.from({ length: WIDTH }, async (_, lane) => {
        while (next < ITERATIONS) await calls[c](next++, lane);
      }),
    );
    const parallelOps = ITERATIONS / ((performance.now() - t1) / 1000);
    const busyMs = samples[c].reduce((sum, ms) => sum + ms, 0);
    figures.push({
      p50: percentile(samples[c], 50),
      p99: percentile(samples[c], 99),
      sequentialOps: ITERATIONS / (busyMs / 1000),
      parallelOps,
    });
  }
  return figures;
}

export const sessionStoreCase: BenchCase = {
  id: 'session-store',
  title: 'Session store fast path vs raw ioredis',
  async run(): Promise<Measurement[]> {
    const raw = new Redis(`${REDIS}/${DB}`);
    const prefix = `bench:sess:${randomUUID()}:`;
    const store = await SessionStore.connect({
      region: 'local',
      regions: { local: ['s0'] },
      backends: { s0: { driver: 'redis', config: { url: `${REDIS}/${DB}`, keyPrefix: prefix } } },
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

      const [rawGet, get] = await measure([
        (_, lane) => raw.get(rawKeys[lane]),
        (_, lane) => store.getData(ids[lane], 'profile'),
      ]);
      const [rawSet, set, floor] = await measure([
        (i, lane) => raw.set(rawKeys[lane], `${rawValue}${i}`),
        (i, lane) => store.setData(ids[lane], 'profile', { name: 'bench', n: i }),
        await loggedCasLoop(raw, prefix, ids),
      ]);

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
        ...pair('set (setData) vs its floor', set, floor, 'ioredis EVALSHA of the same CAS + feed script'),
      ];
    } finally {
      await store.close();
      await removePrefix(raw, prefix);
      raw.disconnect();
    }
  },
};

/**
 * A write's floor: raw ioredis calling EVALSHA of the driver's logged compare-and-set script (the
 * script text only; no driver code runs) with what a setData sends: the lane's record bytes, the
 * version it holds, the TTL and keys in the same layout (value, version, clock, feed stream).
 */
async function loggedCasLoop(
  raw: Redis,
  prefix: string,
  ids: string[],
): Promise<(i: number, lane: number) => Promise<unknown>> {
  await raw.script('LOAD', COMPARE_AND_SET_LOGGED.lua);
  const reserved = (...parts: string[]) =>
    Buffer.concat([Buffer.from(prefix), ...parts.flatMap((p) => [Buffer.from([0xff]), Buffer.from(p)])]);
  const clock = reserved('clock');
  const stream = reserved('f', '{bench-floor}');
  const lanes = await Promise.all(
    ids.map(async (id) => {
      const key = `floor:${id}`;
      const bytes = await raw.getBuffer(`${prefix}sess:${id}`);
      if (!bytes) throw new Error(`session ${id} is not stored under ${prefix}`);
      return { key, value: Buffer.from(prefix + key), version: reserved('v', key), bytes, expected: '' };
    }),
  );
  return async (_i, index) => {
    const lane = lanes[index];
    const reply = (await raw.callBuffer('EVALSHA', [
      COMPARE_AND_SET_LOGGED.sha,
      4,
      lane.value,
      lane.version,
      clock,
      stream,
      lane.bytes,
      lane.expected,
      600_000,
      lane.key,
    ])) as [number, Buffer];
    if (Number(reply[0]) !== 1) throw new Error('the floor loop lost its own compare-and-set');
    lane.expected = `=${reply[1].toString()}`;
  };
}

/** Removes every key of the run (the store's values, versions, index entries and feed streams). */
async function removePrefix(raw: Redis, prefix: string): Promise<void> {
  const stream = raw.scanBufferStream({ match: `${prefix}*`, count: 1000 });
  for await (const keys of stream as AsyncIterable<Buffer[]>) if (keys.length > 0) await raw.unlink(...keys);
}
