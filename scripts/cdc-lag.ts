// Indicative CDC figures on the local stack: end-to-end lag (a row's INSERT → an independent
// kafkajs consumer receiving its event) at given insert rates, and the worker's CPU while the
// pipeline is idle. Starts its own worker (dist/src/worker.js) on a task queue of its own, one
// pipeline, one table and one topic, and removes them at the end. Not a test: figures depend on
// the machine's load.
//
//   npm run build && node dist/scripts/cdc-lag.js [--rates 10,1000] [--seconds 20] [--idle-seconds 30]
//                                                 [--burst 100000]
//
// Each row carries the client's clock when its INSERT was sent (sent_ms); the consumer, on the same
// machine, takes the difference on arrival. 1,000 rows/s are written as 10 rows per statement
// every 10 ms (one transaction each), 10 rows/s as one row every 100 ms. --burst N then inserts N
// rows as fast as Postgres takes them (10,000 per transaction) and times first INSERT → last
// event received: the pipeline's throughput end to end.
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import { PrismClient } from '../src/client/prism-client';
import { topicName } from '../src/drivers/kafka/names';
import { stackEnv, uniqueName } from '../test/helpers/env';
import { startWorker, testConfig, waitFor } from '../test/helpers/worker-process';
import { pipelineStatus } from '../src/client/cdc';

interface Options {
  rates: number[];
  seconds: number;
  idleSeconds: number;
  burst: number;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { rates: [10, 1000], seconds: 20, idleSeconds: 30, burst: 0 };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    switch (argv[i]) {
      case '--rates':
        options.rates = (value ?? '').split(',').map(Number);
        i++;
        break;
      case '--seconds':
        options.seconds = Number(value);
        i++;
        break;
      case '--idle-seconds':
        options.idleSeconds = Number(value);
        i++;
        break;
      case '--burst':
        options.burst = Number(value);
        i++;
        break;
      default:
        throw new Error(`unknown option ${argv[i]} (known: --rates, --seconds, --idle-seconds, --burst)`);
    }
  }
  if (options.rates.some((r) => !(r > 0))) throw new Error('--rates: positive numbers, comma-separated');
  if (!(options.seconds > 0)) throw new Error('--seconds: a positive number');
  if (!(options.idleSeconds >= 0)) throw new Error('--idle-seconds: zero or more');
  if (!Number.isInteger(options.burst) || options.burst < 0) throw new Error('--burst: a whole number of rows');
  return options;
}

const percentile = (sorted: number[], p: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- Linux only, read on demand
  const stat = (require('node:fs') as typeof import('node:fs')).readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const tag = uniqueName('cdclag').replace(/-/g, '_');
  const pipeline = `lag_${tag}`.slice(0, 40);
  const table = `cdc_lag_${tag}`;
  const topic = `${pipeline}.public.${table}`;
  const taskQueue = uniqueName('cdc-lag');
  const pg = new Client({ connectionString: stackEnv.postgresUrl });
  await pg.connect();
  await pg.query(`CREATE TABLE public.${table} (id bigint PRIMARY KEY, sent_ms bigint NOT NULL)`);

  const kafka = new Kafka({ clientId: 'cdc-lag', brokers: stackEnv.kafkaBrokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: topicName('', topic), numPartitions: 1 }] });
  await admin.disconnect();
  const lags: number[] = [];
  let received = 0;
  const consumer = kafka.consumer({ groupId: taskQueue, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topicName('', topic)], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const now = Date.now();
      const body = JSON.parse(message.value?.toString('utf8') ?? 'null') as { after?: { sent_ms: number } } | null;
      received++;
      if (body?.after) lags.push(now - Number(body.after.sent_ms));
    },
  });

  const worker = await startWorker(
    testConfig(taskQueue, {
      backends: {
        pg: { driver: 'postgres', config: { url: stackEnv.postgresUrl } },
        kafka: { driver: 'kafka', config: { brokers: stackEnv.kafkaBrokers } },
      },
      patterns: { cdc: { slots: { source: 'pg', sink: 'kafka' } } },
    }),
  );
  const client = await PrismClient.connect({ taskQueue });
  const started = await client.start('cdcPipelineWorkflow', [{ pipeline, tables: [`public.${table}`] }], {
    pattern: 'cdc',
  });
  let id = 0;
  try {
    await waitFor(
      'the pipeline running',
      async () => (await pipelineStatus(started.handle).catch(() => null))?.state === 'running',
    );
    for (const rate of options.rates) {
      lags.length = 0;
      const first = received;
      const perTick = rate >= 100 ? Math.round(rate / 100) : 1;
      const tickMs = rate >= 100 ? 10 : 1000 / rate;
      const total = Math.round(rate * options.seconds);
      const begin = Date.now();
      let written = 0;
      while (written < total) {
        const due = begin + (written / perTick) * tickMs;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const ids = Array.from({ length: Math.min(perTick, total - written) }, () => ++id);
        await pg.query(`INSERT INTO public.${table} SELECT x, $2 FROM unnest($1::bigint[]) AS x`, [ids, Date.now()]);
        written += ids.length;
      }
      const wroteIn = (Date.now() - begin) / 1000;
      const deadline = Date.now() + 120_000;
      while (received - first < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const sorted = [...lags].sort((a, b) => a - b);
      process.stdout.write(
        `rate ${rate}/s: ${total} rows written in ${wroteIn.toFixed(1)} s (${Math.round(total / wroteIn)}/s), ` +
          `${received - first} received; lag p50 ${percentile(sorted, 50)} ms, p99 ${percentile(sorted, 99)} ms, ` +
          `max ${sorted.at(-1) ?? NaN} ms\n`,
      );
    }
    if (options.burst > 0) {
      const first = received;
      const begin = Date.now();
      for (let done = 0; done < options.burst; done += 10_000) {
        const n = Math.min(10_000, options.burst - done);
        await pg.query(`INSERT INTO public.${table} SELECT g, $3 FROM generate_series($1::bigint, $2::bigint) AS g`, [
          id + 1,
          id + n,
          Date.now(),
        ]);
        id += n;
      }
      const inserted = (Date.now() - begin) / 1000;
      const deadline = Date.now() + 600_000;
      while (received - first < options.burst && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const seconds = (Date.now() - begin) / 1000;
      process.stdout.write(
        `burst: ${options.burst} rows inserted in ${inserted.toFixed(1)} s; ${received - first} received ` +
          `${seconds.toFixed(1)} s after the first INSERT (${Math.round((received - first) / seconds)} events/s end to end)\n`,
      );
    }
    if (options.idleSeconds > 0) {
      const pid = worker.proc.pid!;
      await new Promise((r) => setTimeout(r, 2_000));
      const before = cpuSeconds(pid);
      await new Promise((r) => setTimeout(r, options.idleSeconds * 1000));
      const used = cpuSeconds(pid) - before;
      process.stdout.write(
        `idle worker: ${used.toFixed(2)} CPU s over ${options.idleSeconds} s (${((100 * used) / options.idleSeconds).toFixed(1)}% of a core)\n`,
      );
    }
  } finally {
    await started.handle.signal('stop', { drop: true }).catch(() => undefined);
    await Promise.race([started.handle.result().catch(() => null), new Promise((r) => setTimeout(r, 60_000))]);
    await started.handle.terminate('cdc-lag done').catch(() => undefined);
    await client.close();
    await worker.stop();
    await consumer.disconnect();
    await pg
      .query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [
        `prism_cdc_${pipeline}`,
      ])
      .catch(() => undefined);
    await pg.query(`DROP PUBLICATION IF EXISTS prism_cdc_${pipeline}_pub`).catch(() => undefined);
    await pg.query(`DROP TABLE IF EXISTS public.${table}`);
    await pg.end();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
