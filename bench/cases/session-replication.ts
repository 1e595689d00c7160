// Session store replication lag between two regions under a steady write load, next to a plain
// loop that writes each value to both regions' Redis itself (SET in a, then SET in b), in the
// same run. Each region is a redis-server of the bench's own (ports 6393 and 6394, or
// BENCH_REGION_A_PORT / BENCH_REGION_B_PORT), started through scripts/stack with a data folder
// under .stack/extra/ and stopped after the last repetition.
// Load: writes issued on a fixed schedule (not waiting for the previous ones) at each rate of
// BENCH_REPLICATION_RATES (default 50,200,1000 writes/s; 50,1000 with --quick) for BENCH_REPLICATION_SECONDS (default 6),
// round-robin over rate ÷ 5 sessions (5 writes/s per session; the store's writers take turns
// per session). Lag of a write = from the call that writes it in region a to the moment region b
// holds that value or a newer one, seen through region b's keyspace notifications (a GET on
// each change of a watched key), so both sides are timed by the same observer.
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { PrismClient } from '../../src/client/prism-client';
import { SessionStore } from '../../src/client/session-store';
import { decodeRecord, decodeValue, sessionKey } from '../../src/workflows/session-store/logic';
import { ExtraRedis } from '../../test/helpers/extra-redis';
import { startWorker, testConfig, type WorkerProcess } from '../../test/helpers/worker-process';
import { percentile } from '../lib/stats';
import type { BenchCase, Measurement } from '../lib/types';

const RATES = (process.env.BENCH_REPLICATION_RATES ?? (process.env.BENCH_QUICK === '1' ? '50,1000' : '50,200,1000'))
  .split(',')
  .map(Number);
const SECONDS = Number(process.env.BENCH_REPLICATION_SECONDS ?? 6);
const WRITES_PER_SESSION_PER_SECOND = 5;
const SETTLE_MS = 30_000;
/** Replication workflows end after this long without a write (so none is left open after a run). */
const IDLE_TIMEOUT_MS = 3000;
const BASELINE = 'SET in a, then SET in b';

if (RATES.some((r) => !(r >= WRITES_PER_SESSION_PER_SECOND))) {
  throw new Error(`BENCH_REPLICATION_RATES: expected rates of at least ${WRITES_PER_SESSION_PER_SECOND} writes/s`);
}

let servers: { a: ExtraRedis; b: ExtraRedis } | undefined;

function regionServers(): { a: ExtraRedis; b: ExtraRedis } {
  if (!servers) {
    servers = {
      a: new ExtraRedis('bench-region-a', Number(process.env.BENCH_REGION_A_PORT ?? 6393)),
      b: new ExtraRedis('bench-region-b', Number(process.env.BENCH_REGION_B_PORT ?? 6394)),
    };
    servers.a.up();
    servers.b.up();
  }
  return servers;
}

/**
 * Watches keys in region b: on each change of a watched key, reads it and marks every write to it
 * up to the value found as visible (values are write numbers, increasing per key).
 */
class Observer {
  private readonly sub: Redis;
  private readonly reader: Redis;
  /** key → write numbers not yet seen there, ascending. */
  private readonly pending = new Map<string, number[]>();
  readonly visibleAt = new Map<number, number>();

  constructor(
    url: string,
    private readonly valueOf: (bytes: Buffer) => number | null,
  ) {
    this.sub = new Redis(url);
    this.reader = new Redis(url);
  }

  async start(): Promise<void> {
    await this.reader.config('SET', 'notify-keyspace-events', 'KA');
    this.sub.on('pmessage', (_pattern: string, channel: string) => {
      const key = channel.slice(channel.indexOf(':') + 1);
      if (this.pending.has(key)) void this.check(key);
    });
    await this.sub.psubscribe('__keyspace@0__:*');
  }

  /** A write the client refused: nothing of it is to be seen. */
  forget(key: string, write: number): void {
    const list = this.pending.get(key);
    const i = list?.indexOf(write) ?? -1;
    if (i >= 0) list!.splice(i, 1);
  }

  expect(key: string, write: number): void {
    const list = this.pending.get(key) ?? [];
    list.push(write);
    this.pending.set(key, list);
  }

  private async check(key: string): Promise<void> {
    const bytes = await this.reader.getBuffer(key);
    const at = performance.now();
    const value = bytes === null ? null : this.valueOf(bytes);
    if (value === null) return;
    const list = this.pending.get(key)!;
    while (list.length > 0 && list[0] <= value) this.visibleAt.set(list.shift()!, at);
  }

  /** Waits until `total` writes were seen (or the timeout). */
  async settle(total: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.visibleAt.size < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }

  async close(): Promise<void> {
    this.sub.disconnect();
    this.reader.disconnect();
  }
}

interface Load {
  p50: number;
  p99: number;
  /** Median time from the call to the write call returning (the store's writes include the signal). */
  returnedP50: number;
  /** % of the writes seen in region b within SETTLE_MS after the last one. */
  visible: number;
  /** % of the writes the client refused (an error from the write call, e.g. its bulkhead full). */
  refused: number;
}

/**
 * Issues rate × SECONDS writes on schedule, write i to lane i mod lanes, and returns the lag of
 * each (issue → visible in region b).
 */
async function steadyLoad(
  rate: number,
  lanes: number,
  keyOf: (lane: number) => string,
  write: (lane: number, n: number) => Promise<unknown>,
  observer: Observer,
): Promise<Load> {
  const total = Math.round(rate * SECONDS);
  const issuedAt: number[] = [];
  const returned: number[] = [];
  let refused = 0;
  const writes: Promise<unknown>[] = [];
  const start = performance.now();
  for (let n = 0; n < total; n++) {
    const due = start + (n * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    observer.expect(keyOf(n % lanes), n);
    const t = performance.now();
    issuedAt[n] = t;
    writes.push(
      write(n % lanes, n).then(
        () => returned.push(performance.now() - t),
        () => {
          refused++;
          observer.forget(keyOf(n % lanes), n);
        },
      ),
    );
  }
  await Promise.all(writes);
  await observer.settle(total - refused, SETTLE_MS);
  const lags = issuedAt.flatMap((t, n) => {
    const seen = observer.visibleAt.get(n);
    return seen === undefined ? [] : [seen - t];
  });
  return {
    p50: percentile(lags, 50),
    p99: percentile(lags, 99),
    returnedP50: percentile(returned, 50),
    visible: (lags.length / total) * 100,
    refused: (refused / total) * 100,
  };
}

export const sessionReplicationCase: BenchCase = {
  id: 'session-replication',
  title: 'Session store replication lag (region a → b) under a steady write load',
  about: `Two regions, each a redis-server of its own; writes issued on a fixed schedule for ${SECONDS} s at each rate, 5 writes/s per session. Lag = from the write call in region a to region b holding that value or a newer one (keyspace notifications on b, the same observer for both sides). "Write call returns" is the caller's wait: the store's setData through the public client (its compare-and-set and whatever its write path does to have the write replicated). A rate beyond what the replication workflows keep up with shows a lag that grows with the run's length (queueing), not a steady state.`,
  async run(): Promise<Measurement[]> {
    const { a, b } = regionServers();
    const taskQueue = `bench-session-repl-${randomUUID().slice(0, 8)}`;
    // Sized for 1,000 writes/s from one client, as a user writing at that rate would configure it.
    const bulkhead = { capacity: 64, queue: 1024 };
    const backends = {
      a0: { driver: 'redis', config: { url: a.url }, bulkhead },
      b0: { driver: 'redis', config: { url: b.url }, bulkhead },
    };
    const regions = { a: ['a0'], b: ['b0'] };
    let worker: WorkerProcess | undefined;
    let client: PrismClient | undefined;
    let store: SessionStore | undefined;
    const rawA = new Redis(a.url);
    const rawB = new Redis(b.url);
    const out: Measurement[] = [];
    try {
      worker = await startWorker(
        testConfig(taskQueue, {
          backends,
          patterns: {
            'session-store': {
              slots: { shards: ['a0', 'b0'] },
              activity: {
                start_to_close_timeout: '10s',
                retry: { initial_interval: '200ms', maximum_interval: '2s', maximum_attempts: 0 },
              },
            },
          },
          worker: { shutdown_grace_time: '2s' },
        }),
      );
      client = await PrismClient.connect({ taskQueue });
      store = await SessionStore.connect({
        region: 'a',
        regions,
        backends,
        replication: { client: client.temporal, taskQueue, idleTimeoutMs: IDLE_TIMEOUT_MS },
      });
      for (const rate of RATES) {
        const lanes = Math.round(rate / WRITES_PER_SESSION_PER_SECOND);
        // Ours: sessions created (and replicated once) before the clock starts.
        // 16 at a time: the client's bulkhead refuses a burst of hundreds at once.
        const ids: string[] = [];
        for (let i = 0; i < lanes; i += 16) {
          ids.push(
            ...(await Promise.all(
              Array.from(
                { length: Math.min(16, lanes - i) },
                async () => (await store!.createSession({ userId: 'bench' }, { ttlSeconds: 600 })).sessionId,
              ),
            )),
          );
        }
        let observer = new Observer(b.url, (bytes) => {
          const entry = decodeRecord(bytes).data.tick;
          return entry?.value == null ? null : (decodeValue(entry.value) as number);
        });
        await observer.start();
        const ours = await steadyLoad(
          rate,
          lanes,
          (lane) => sessionKey(ids[lane]),
          (lane, n) => store!.setData(ids[lane], 'tick', n),
          observer,
        );
        await observer.close();

        // Baseline: the same schedule, each lane's writes in order (as the store's are).
        const keys = ids.map((id) => `bench:repl:${id}`);
        const chains = keys.map(() => Promise.resolve());
        observer = new Observer(b.url, (bytes) => (JSON.parse(bytes.toString()) as { n: number }).n);
        await observer.start();
        const base = await steadyLoad(
          rate,
          lanes,
          (lane) => keys[lane],
          (lane, n) => {
            const value = JSON.stringify({ n, sessionId: ids[lane] });
            chains[lane] = chains[lane]
              .then(() => rawA.set(keys[lane], value, 'EX', 600))
              .then(() => rawB.set(keys[lane], value, 'EX', 600))
              .then(() => undefined);
            return chains[lane];
          },
          observer,
        );
        await observer.close();

        const label = `${rate} writes/s (${lanes} sessions)`;
        out.push(
          {
            name: `lag p50, ${label}`,
            unit: 'ms',
            better: 'lower',
            ours: ours.p50,
            baseline: base.p50,
            baselineName: BASELINE,
            size: rate,
          },
          {
            name: `lag p99, ${label}`,
            unit: 'ms',
            better: 'lower',
            ours: ours.p99,
            baseline: base.p99,
            baselineName: BASELINE,
            size: rate,
          },
          {
            name: `write call returns (p50), ${label}`,
            unit: 'ms',
            better: 'lower',
            ours: ours.returnedP50,
            baseline: base.returnedP50,
            baselineName: BASELINE,
            size: rate,
          },
          {
            name: `% of writes seen in region b, ${label}`,
            unit: '%',
            better: 'higher',
            ours: ours.visible,
            baseline: base.visible,
            baselineName: BASELINE,
            size: rate,
          },
          {
            name: `% of writes refused by the client, ${label}`,
            unit: '% refused',
            better: 'lower',
            ours: ours.refused,
            baseline: base.refused,
            baselineName: BASELINE,
            size: rate,
          },
        );
      }
    } finally {
      await store?.close();
      await client?.close();
      await worker?.stop();
      rawA.disconnect();
      rawB.disconnect();
    }
    return out;
  },
  async teardown() {
    servers?.a.down();
    servers?.b.down();
    servers = undefined;
  },
};
