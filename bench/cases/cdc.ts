// CDC, Postgres → Kafka: the cdc pattern's workflow on a real worker (capture → deliver → confirm
// per batch of BATCH changes) next to plain loops reading the same changes from their own
// replication slot, in the same run. Each pipeline has its own slot over the same table, created
// before the rows are written, so each drains the same changes; the time runs from start until an
// independent consumer has seen every event.
//   - batch produce: the workflow (the sink's pubsub_batch: one produce request per batch) vs a
//     loop that reads the changes and produces each batch with kafkajs (the baseline), at
//     each size;
//   - lag at a steady 1,000 changes/s (commit → an independent consumer), batch produce;
//   - per-event publish: a loop publishing one event per driver call (pubsub_basic), next to the
//     same workflow, at one small size (it is slow).
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { Client } from 'pg';
import { chainsOf } from '../../src/activities/cdc/sink-activities';
import { PrismClient } from '../../src/client/prism-client';
import { builtinDrivers } from '../../src/drivers/builtin';
import type { CdcSource, PubSubBasic } from '../../src/drivers/capabilities';
import { topicName } from '../../src/drivers/kafka/names';
import { runPipeline, type PipelineSpec } from '../../src/workflows/cdc/pipeline';
import { CdcTestConsumer } from '../../test/helpers/cdc-kafka';
import { stackEnv, uniqueName } from '../../test/helpers/env';
import { startWorker, type WorkerProcess } from '../../test/helpers/worker-process';
import { cdcName, cdcWorkerConfig, dropCapture } from '../../test/patterns/cdc/setup';
import { percentile } from '../lib/stats';
import type { BenchCase, Measurement } from '../lib/types';

const BATCH_SIZES = [5_000, 20_000, 100_000];
const PER_EVENT_SIZE = 2_000;
const BATCH = 1_000;
const LAG_RATE = 1_000;
const LAG_SECONDS = 10;

type Source = CdcSource & { close(): Promise<void> };
type Sink = PubSubBasic & { close(): Promise<void> };

interface Env {
  pg: Client;
  source: Source;
  sink: Sink;
  producer: Producer;
}

const capture = (p: string) => ({ slot: `prism_cdc_${p}`, publication: `prism_cdc_${p}_pub` });
const spec = (p: string): PipelineSpec => ({ db: 'prism', filter: {}, transforms: [], topicPrefix: p, topics: {} });

/** A table with `rows` inserts captured by each pipeline's own slot. */
async function prepare(env: Env, rows: number, pipelines: string[]): Promise<string> {
  const table = `cdc_bench_${cdcName('t')}`;
  await env.pg.query(`CREATE TABLE public.${table} (id int PRIMARY KEY, name text, amount numeric(10,2), note text)`);
  for (const p of pipelines) await env.source.ensureCapture({ ...capture(p), tables: [`public.${table}`] });
  for (let i = 0; i < rows; i += BATCH) {
    await env.pg.query(
      `INSERT INTO ${table} SELECT g, 'name ' || g, g * 1.5, repeat('x', 40) FROM generate_series($1::int, $2::int) g`,
      [i + 1, Math.min(i + BATCH, rows)],
    );
  }
  return table;
}

async function cleanup(env: Env, table: string, pipelines: string[]): Promise<void> {
  for (const p of pipelines) await dropCapture(env.pg, p);
  await env.pg.query(`DROP TABLE IF EXISTS public.${table}`);
}

/** Milliseconds from `run` starting until a consumer has seen `n` distinct events on the pipeline's topic. */
async function timed(pipeline: string, table: string, n: number, run: () => Promise<unknown>): Promise<number> {
  const consumer = new CdcTestConsumer();
  await consumer.start([`${pipeline}.public.${table}`]);
  try {
    const started = performance.now();
    await run();
    await consumer.waitForCount(n, 600_000);
    return performance.now() - started;
  } finally {
    await consumer.stop();
  }
}

/** One worker for every measurement, started on first use. */
class Workers {
  private running: { worker: WorkerProcess; client: PrismClient } | undefined;

  async get(): Promise<PrismClient> {
    if (!this.running) {
      const taskQueue = uniqueName('cdc-bench');
      const worker = await startWorker(cdcWorkerConfig(taskQueue));
      this.running = { worker, client: await PrismClient.connect({ taskQueue }) };
    }
    return this.running.client;
  }

  async stop(): Promise<void> {
    await this.running?.client.close();
    await this.running?.worker.stop();
  }
}

/**
 * Stops a pipeline and drops its capture. A signal, not the control update: an update that meets
 * the run's continue-as-new fails ("Workflow Update failed"), a signal goes on to the next run.
 */
async function stopAndDrop(handle: Awaited<ReturnType<PrismClient['start']>>['handle']): Promise<void> {
  await handle.signal('stop', { drop: true });
  await handle.result();
}

async function throughWorkflow(client: PrismClient, pipeline: string, table: string, n: number): Promise<number> {
  let handle: Awaited<ReturnType<PrismClient['start']>>['handle'] | undefined;
  const ms = await timed(pipeline, table, n, async () => {
    const run = await client.start(
      'cdcPipelineWorkflow',
      [{ pipeline, tables: [`public.${table}`], batchSize: BATCH, idleWaitMs: 500 }],
      { pattern: 'cdc' },
    );
    handle = run.handle;
  });
  await stopAndDrop(handle!);
  return ms;
}

/** The same driver operations as the workflow's default path, in a plain loop. */
function driverLoop(env: Env, pipeline: string, table: string, n: number): Promise<number> {
  const cap = capture(pipeline);
  return timed(pipeline, table, n, async () => {
    let sent = 0;
    while (sent < n) {
      const { changes, lastLsn } = await env.source.readChanges({ ...cap, limit: BATCH, waitMs: 500 });
      const chains = chainsOf(runPipeline(changes, spec(pipeline)));
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(32, chains.length) }, async () => {
          while (next < chains.length) {
            for (const m of chains[next++]!) {
              await env.sink.publish(m.topic, Buffer.from(JSON.stringify(m.body)), {
                'cdc-id': m.id,
                'cdc-key': m.key,
              });
            }
          }
        }),
      );
      if (lastLsn) await env.source.confirm({ slot: cap.slot, lsn: lastLsn });
      sent += changes.length;
    }
  });
}

/** Logical replication read → one kafkajs produce request per batch → confirm, until done(sent). */
async function directPump(env: Env, pipeline: string, table: string, done: (sent: number) => boolean): Promise<void> {
  const cap = capture(pipeline);
  const topic = topicName('', `${pipeline}.public.${table}`);
  let sent = 0;
  while (!done(sent)) {
    const { changes, lastLsn } = await env.source.readChanges({ ...cap, limit: BATCH, waitMs: 500 });
    const messages = runPipeline(changes, spec(pipeline));
    if (messages.length > 0) {
      await env.producer.send({
        topic,
        acks: -1,
        messages: messages.map((m) => ({
          key: m.key,
          value: JSON.stringify(m.body),
          headers: { 'cdc-id': m.id, 'cdc-key': m.key },
        })),
      });
    }
    if (lastLsn) await env.source.confirm({ slot: cap.slot, lsn: lastLsn });
    sent += messages.length;
  }
}

function directLoop(env: Env, pipeline: string, table: string, n: number): Promise<number> {
  return timed(pipeline, table, n, () => directPump(env, pipeline, table, (sent) => sent >= n));
}

/**
 * Lag at a steady LAG_RATE changes/s for LAG_SECONDS (one transaction of LAG_RATE / 10 rows every
 * 100 ms): for each event, the time from its commit (source.ts_ms) to an independent consumer
 * receiving it. `start` starts the pipeline and returns how to stop it.
 */
async function steadyLag(
  env: Env,
  pipeline: string,
  start: (pipeline: string, table: string) => Promise<() => Promise<void>>,
): Promise<{ p50: number; p99: number }> {
  const table = await prepare(env, 0, [pipeline]);
  try {
    return await lagOn(env, pipeline, table, start);
  } finally {
    await cleanup(env, table, [pipeline]);
  }
}

async function lagOn(
  env: Env,
  pipeline: string,
  table: string,
  start: (pipeline: string, table: string) => Promise<() => Promise<void>>,
): Promise<{ p50: number; p99: number }> {
  const total = LAG_RATE * LAG_SECONDS;
  const topic = topicName('', `${pipeline}.public.${table}`);
  const kafka = new Kafka({ clientId: 'cdc-bench-lag', brokers: stackEnv.kafkaBrokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();
  const consumer = kafka.consumer({ groupId: uniqueName('cdc-bench-lag'), maxWaitTimeInMs: 50 });
  const lags = new Map<string, number>();
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const body = JSON.parse(message.value?.toString('utf8') ?? '{}') as { id: string; source: { ts_ms: number } };
      if (!lags.has(body.id)) lags.set(body.id, Date.now() - body.source.ts_ms);
    },
  });
  const stop = await start(pipeline, table);
  try {
    const perTick = LAG_RATE / 10;
    const t0 = performance.now();
    for (let tick = 0; tick < LAG_SECONDS * 10; tick++) {
      await env.pg.query(
        `INSERT INTO ${table} SELECT g, 'name ' || g, g * 1.5, repeat('x', 40) FROM generate_series($1::int, $2::int) g`,
        [tick * perTick + 1, (tick + 1) * perTick],
      );
      const wait = t0 + (tick + 1) * 100 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const deadline = Date.now() + 60_000;
    while (lags.size < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  } finally {
    await stop();
    await consumer.disconnect();
  }
  const values = [...lags.values()];
  return { p50: percentile(values, 50), p99: percentile(values, 99) };
}

const rate = (n: number, ms: number): number => (n / ms) * 1000;

export const cdcCase: BenchCase = {
  id: 'cdc',
  title: 'CDC Postgres → Kafka vs a replication-read → produce loop',
  async run(): Promise<Measurement[]> {
    const drivers = builtinDrivers();
    const create = async (name: string, config: unknown) =>
      drivers.get(name)!.create(drivers.get(name)!.configSchema.parse(config), { backend: `bench-${name}` });
    const pg = new Client({ connectionString: stackEnv.postgresUrl });
    await pg.connect();
    const source = (await create('postgres', { url: stackEnv.postgresUrl })) as unknown as Source;
    const sink = (await create('kafka', { brokers: stackEnv.kafkaBrokers })) as unknown as Sink;
    const kafka = new Kafka({ clientId: 'cdc-bench', brokers: stackEnv.kafkaBrokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const env: Env = { pg, source, sink, producer };
    const workers = new Workers();
    const out: Measurement[] = [];
    try {
      // Batch produce, at each size.
      for (const n of BATCH_SIZES) {
        const tag = cdcName('b');
        const pipelines = [`${tag}_wd`, `${tag}_dk`];
        const table = await prepare(env, n, pipelines);
        try {
          const ours = await throughWorkflow(await workers.get(), pipelines[0], table, n);
          const base = await directLoop(env, pipelines[1], table, n);
          out.push({
            name: `events/s, batch produce, ${n.toLocaleString('en-US')} changes`,
            series: 'batch produce (pubsub_batch)',
            unit: 'events/s',
            better: 'higher',
            ours: rate(n, ours),
            baseline: rate(n, base),
            baselineName: 'read → kafkajs produce loop',
            size: n,
          });
        } finally {
          await cleanup(env, table, pipelines);
        }
      }
      // Lag at a steady rate, batch produce: the workflow, then the loop, each on its own table.
      {
        const tag = cdcName('l');
        const client = await workers.get();
        const ours = await steadyLag(env, `${tag}_wd`, async (pipeline, table) => {
          const run = await client.start(
            'cdcPipelineWorkflow',
            [{ pipeline, tables: [`public.${table}`], batchSize: BATCH, idleWaitMs: 500 }],
            { pattern: 'cdc' },
          );
          return async () => {
            await stopAndDrop(run.handle);
          };
        });
        const base = await steadyLag(env, `${tag}_dk`, async (pipeline, table) => {
          let stopped = false;
          const pump = directPump(env, pipeline, table, () => stopped);
          return async () => {
            stopped = true;
            await pump;
          };
        });
        const rateName = `${LAG_RATE.toLocaleString('en-US')} changes/s`;
        for (const [p, o, b] of [
          ['p50', ours.p50, base.p50],
          ['p99', ours.p99, base.p99],
        ] as const) {
          out.push({
            name: `${p} lag commit → consumer at ${rateName}, batch produce`,
            unit: 'ms',
            better: 'lower',
            ours: o,
            baseline: b,
            baselineName: 'read → kafkajs produce loop',
          });
        }
      }
      // One publish per event through the kafka driver (the loop); the workflow batches anyway.
      const n = PER_EVENT_SIZE;
      const tag = cdcName('e');
      const pipelines = [`${tag}_wf`, `${tag}_dl`];
      const table = await prepare(env, n, pipelines);
      try {
        const ours = await throughWorkflow(await workers.get(), pipelines[0], table, n);
        const base = await driverLoop(env, pipelines[1], table, n);
        out.push({
          name: `events/s, per-event publish, ${n.toLocaleString('en-US')} changes`,
          unit: 'events/s',
          better: 'higher',
          ours: rate(n, ours),
          baseline: rate(n, base),
          baselineName: 'read → driver publish loop',
          size: n,
        });
      } finally {
        await cleanup(env, table, pipelines);
      }
    } finally {
      await workers.stop();
      await producer.disconnect();
      await source.close();
      await sink.close();
      await pg.end();
    }
    return out;
  },
};
