// Session store fast path vs raw ioredis, in the same run against the same Redis.
//   npm run build && node dist/bench/session-store.js [iterations]
// Reads: getData (getVersioned + EXPIRE for the sliding TTL, each through the backend's guard)
// vs a raw GET. Writes: setData (getVersioned + compare-and-set + index refresh, guarded; no
// replication, which adds one signal-with-start to Temporal) vs a raw SET.
import Redis from 'ioredis';
import { SessionStore } from '../src/client/session-store';

const REDIS = process.env.PRISM_REDIS_URL ?? 'redis://127.0.0.1:6379';
const DB = 5;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function measure(name: string, iterations: number, fn: (i: number) => Promise<unknown>): Promise<string> {
  for (let i = 0; i < Math.min(500, iterations); i++) await fn(i); // warm up
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t = process.hrtime.bigint();
    await fn(i);
    samples.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  samples.sort((a, b) => a - b);
  const p50 = percentile(samples, 50);
  const p99 = percentile(samples, 99);
  return `${name.padEnd(34)} p50 ${p50.toFixed(3)} ms   p99 ${p99.toFixed(3)} ms   (n=${iterations})`;
}

async function main(): Promise<void> {
  const iterations = Number(process.argv[2] ?? 5000);
  const raw = new Redis(`${REDIS}/${DB}`);
  const store = await SessionStore.connect({
    region: 'local',
    regions: { local: ['s0'] },
    backends: { s0: { driver: 'redis', config: { url: `${REDIS}/${DB}` } } },
  });
  const session = await store.createSession({ userId: 'bench' }, { ttlSeconds: 600 });
  await store.setData(session.sessionId, 'profile', { name: 'bench', n: 1 });
  const rawKey = `bench:raw:${session.sessionId}`;
  const rawValue = JSON.stringify({ name: 'bench', n: 1 });
  await raw.set(rawKey, rawValue);

  const lines: string[] = [];
  lines.push(await measure('raw ioredis GET', iterations, () => raw.get(rawKey)));
  lines.push(await measure('fast path getData', iterations, () => store.getData(session.sessionId, 'profile')));
  lines.push(await measure('raw ioredis SET', iterations, (i) => raw.set(rawKey, `${rawValue}${i}`)));
  lines.push(
    await measure('fast path setData', iterations, (i) =>
      store.setData(session.sessionId, 'profile', { name: 'bench', n: i }),
    ),
  );
  process.stdout.write(lines.join('\n') + '\n');

  await store.deleteSession(session.sessionId);
  await raw.del(rawKey);
  await store.close();
  raw.disconnect();
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
