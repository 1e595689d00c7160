// Multicast against the physical limit (issue 18): on the demo stack's Redis and NATS, for each
// size, a raw-client loop (ioredis SCAN+MGET, filter, one NATS publish per target, one flush) and
// a Prism multicast (the paged workflow, started from the client) to the same matching half of
// the same registry, each timed from its start until an independent NATS subscriber has heard
// every target. Also: the multicast's history bytes per run (every run of a continued-as-new
// chain), its events, and the worker's peak RSS while it ran.
//
//   npm run --silent build
//   node dist/scripts/multicast-limit.js                         # 10,000 and 100,000 identities
//   MCL_SIZES=1000,10000,100000,1000000 node dist/scripts/multicast-limit.js
//
// MCL_PAGE_SIZE sets the multicast's pageSize (default: the workflow's). Keys, topics and the
// worker's task queue are the run's own; its keys are deleted at the end. Figures are wall-clock
// on a shared machine: indicative.
import { randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import Redis from 'ioredis';
import { connect } from '../src/drivers/nats/client';
import { subjectTopic, topicSubject } from '../src/drivers/nats/names';
import { MulticastRegistryClient } from '../src/client/multicast-registry';
import { PrismClient } from '../src/client/prism-client';
import { identityPrefix } from '../src/activities/multicast-registry/registry-store';
import { stackEnv } from '../test/helpers/env';
import { startWorker } from '../test/helpers/worker-process';
import { redisNats, workerConfig } from '../test/patterns/multicast-registry/stacks';
import { sampleRss } from '../bench/lib/rss';

const SIZES = (process.env.MCL_SIZES ?? '10000,100000').split(',').map(Number);
const PAGE_SIZE = process.env.MCL_PAGE_SIZE ? Number(process.env.MCL_PAGE_SIZE) : undefined;
const PAYLOAD = 'multicast at the limit';
const FILL_CHUNK = 5_000;

/** Every NATS subject under the stack's prefix; notes when the last new identity of a topic prefix arrived. */
async function subscriber(subjectPrefix: string) {
  const nc = await connect({ servers: stackEnv.natsUrl });
  let watch: { topicPrefix: string; want: number; seen: Set<string>; repeats: number; last: number } | undefined;
  nc.subscribe(`${subjectPrefix}.>`, {
    callback: (err, msg) => {
      if (err || !watch) return;
      const topic = subjectTopic(subjectPrefix, msg.subject);
      if (topic === null || !topic.startsWith(watch.topicPrefix)) return;
      const identity = topic.slice(watch.topicPrefix.length);
      if (watch.seen.has(identity)) watch.repeats += 1;
      else {
        watch.seen.add(identity);
        watch.last = performance.now();
      }
    },
  });
  await nc.flush();
  return {
    nc,
    expect(topicPrefix: string, want: number) {
      watch = { topicPrefix, want, seen: new Set(), repeats: 0, last: 0 };
    },
    /** Resolves with when the last target arrived (performance.now()) once every one has. */
    async heardAll(timeoutMs: number): Promise<{ last: number; heard: number; repeats: number }> {
      const deadline = Date.now() + timeoutMs;
      while (watch!.seen.size < watch!.want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      await nc.flush();
      return { last: watch!.last, heard: watch!.seen.size, repeats: watch!.repeats };
    },
    close: () => nc.close(),
  };
}

/** `size` identities, every other one matching { group: 'a' }, written straight to Redis. */
async function fill(redis: Redis, registry: string, size: number): Promise<void> {
  const prefix = identityPrefix(registry);
  const now = Date.now();
  for (let i = 0; i < size; i += FILL_CHUNK) {
    const args: string[] = [];
    for (let j = i; j < Math.min(size, i + FILL_CHUNK); j++) {
      const identity = `t-${j}`;
      const record = {
        v: 1,
        identity,
        metadata: { group: j % 2 === 0 ? 'a' : 'b' },
        registeredAt: now,
        expiresAt: null,
        ttlSeconds: null,
      };
      args.push(prefix + identity, JSON.stringify(record));
    }
    await redis.mset(...args);
  }
}

/** The raw baseline: SCAN+MGET, filter, one publish per target, one flush. */
async function rawLoop(redis: Redis, nc: Awaited<ReturnType<typeof connect>>, registry: string, subjectPrefix: string) {
  const prefix = identityPrefix(registry);
  const topicPrefix = `raw.${registry}.`;
  const payload = new TextEncoder().encode(PAYLOAD);
  let cursor = '0';
  let sent = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length === 0) continue;
    const values = await redis.mget(...keys);
    for (const value of values) {
      if (value === null) continue;
      const record = JSON.parse(value) as { identity: string; metadata: { group?: string } };
      if (record.metadata.group !== 'a') continue;
      nc.publish(topicSubject(subjectPrefix, topicPrefix + record.identity), payload);
      sent += 1;
    }
  } while (cursor !== '0');
  await nc.flush();
  return { topicPrefix, sent };
}

/** Every run of the multicast, first to last: events and encoded history bytes each. */
async function historyRuns(prism: PrismClient, workflowId: string, firstRunId: string) {
  const runs: { events: number; bytes: number }[] = [];
  let runId: string | undefined = firstRunId;
  while (runId) {
    const history: temporal.api.history.v1.IHistory = await prism.handle(workflowId, runId).fetchHistory();
    const events: temporal.api.history.v1.IHistoryEvent[] = history.events ?? [];
    runs.push({ events: events.length, bytes: temporal.api.history.v1.History.encode(history).finish().length });
    if (process.env.MCL_VERBOSE) {
      // Per event: ms since the run began, type, activity attempt; where the time of a run goes.
      const t0 = Number(events[0]?.eventTime?.seconds ?? 0) * 1000 + (events[0]?.eventTime?.nanos ?? 0) / 1e6;
      for (const e of events) {
        const t = Number(e.eventTime?.seconds ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6 - t0;
        const type = temporal.api.enums.v1.EventType[e.eventType ?? 0];
        const attempt = e.activityTaskStartedEventAttributes?.attempt;
        const size = temporal.api.history.v1.HistoryEvent.encode(e).finish().length;
        process.stdout.write(
          `  ${t.toFixed(0).padStart(6)} ms ${type}${attempt ? ` attempt ${attempt}` : ''} ${size} B\n`,
        );
      }
    }
    runId = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return runs;
}

async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 5000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

async function main(): Promise<void> {
  const stack = redisNats();
  const subjectPrefix = String((stack.messagingBackend.config as { pubsubSubjectPrefix: string }).pubsubSubjectPrefix);
  const taskQueue = `mcl-${randomUUID()}`;
  const worker = await startWorker(workerConfig(taskQueue, stack));
  const prism = await PrismClient.connect({ taskQueue });
  const redis = new Redis(stackEnv.redisUrl);
  const rawNats = await connect({ servers: stackEnv.natsUrl });
  const listener = await subscriber(subjectPrefix);
  const rows: string[] = [];
  try {
    // A first small multicast warms the worker (bundle loaded, connections open).
    for (const size of [200, ...SIZES]) {
      const registry = `mcl-${randomUUID().slice(0, 8)}`;
      await fill(redis, registry, size);
      const matching = Math.ceil(size / 2);
      try {
        listener.expect(`raw.${registry}.`, matching);
        const rawStart = performance.now();
        await rawLoop(redis, rawNats, registry, subjectPrefix);
        const raw = await listener.heardAll(120_000);
        const rawMs = raw.last - rawStart;

        const client = new MulticastRegistryClient(prism, registry);
        listener.expect(`multicast.${registry}.`, matching);
        const rss = sampleRss(worker.proc.pid!, 100);
        const start = performance.now();
        const handle = await client.startMulticast({ group: 'a' }, PAYLOAD, {
          ...(PAGE_SIZE ? { pageSize: PAGE_SIZE } : {}),
        });
        const heard = await listener.heardAll(Math.max(120_000, size));
        const report = await handle.result();
        const doneMs = performance.now() - start;
        const peakRss = Math.max(...rss.stop());
        const prismMs = heard.last - start;
        const runs = await historyRuns(prism, handle.workflowId, handle.runId);
        if (size === 200) continue;
        const accounted = report.delivered + report.failed;
        const line =
          `${size} identities, ${matching} match: raw ${rawMs.toFixed(0)} ms (heard ${raw.heard}) | ` +
          `prism ${prismMs.toFixed(0)} ms to last arrival, ${doneMs.toFixed(0)} ms to result ` +
          `(heard ${heard.heard}, repeats ${heard.repeats}, delivered ${report.delivered}, failed ${report.failed}, ` +
          `accounted ${accounted}/${report.targetCount}) | ratio ${(rawMs / prismMs).toFixed(2)}x | ` +
          `${((prismMs * 1000) / matching).toFixed(1)} us/target | runs ${runs.length}, ` +
          `max history ${Math.max(...runs.map((r) => r.bytes))} B / ${Math.max(...runs.map((r) => r.events))} events | ` +
          `worker peak RSS ${peakRss.toFixed(0)} MiB`;
        rows.push(line);
        process.stdout.write(`${line}\n`);
      } finally {
        await deleteKeys(redis, `mcr/${registry}/*`);
      }
    }
  } finally {
    await listener.close();
    await rawNats.close();
    redis.disconnect();
    await prism.close();
    await worker.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
