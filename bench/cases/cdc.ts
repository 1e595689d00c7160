// CDC, Postgres → Kafka, three contenders on the same Postgres and Kafka in the same run, one after
// the other, each on a table, slot, publication and topic of its own:
//   - Prism: the cdc pattern as a user runs it: a worker with a postgres source and a kafka sink
//     (nothing tuned), the pipeline started with `prism cdc start` and removed with `prism cdc drop`;
//   - raw: a streaming logical-replication reader (pg-logical-replication, pgoutput) producing with
//     kafkajs, confirming the slot after Kafka's acks (bench/peers/raw-cdc.ts, a process of its own);
//   - raw-records: the same raw loop sending records shaped as Prism's (body fields and headers), so
//     the distance to raw splits into what the record costs and what the pipeline costs;
//   - Debezium 3.6.1.Final: the embedded engine and Postgres connector producing with a
//     KafkaProducer (bench/peers/debezium), when java and mvn are there.
// Each contender is started and warmed up (sentinel rows until one reaches the consumer), then:
//   - throughput: N rows inserted in transactions of 1,000 back to back, timed from the first insert
//     until an independent kafkajs consumer has all N;
//   - lag: rows inserted at a steady rate (one transaction every 100 ms), lag = the insert being
//     issued → the consumer receiving its event, p50/p99, at each rate.
// Slots, publications, tables and topics are dropped after each contender, even when it fails.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Kafka, logLevel, type Admin, type Consumer } from 'kafkajs';
import { Client } from 'pg';
import { stackEnv, uniqueName } from '../../test/helpers/env';
import { startWorker, testConfig, type WorkerProcess } from '../../test/helpers/worker-process';
import { buildDebezium, startDebezium } from '../peers/debezium';
import { startRawCdc } from '../peers/raw-cdc';
import { cpuPercentOver } from '../lib/cpu';
import { percentile } from '../lib/stats';
import type { BenchCase, Measurement } from '../lib/types';

const QUICK = process.env.BENCH_QUICK === '1';
const SIZES = (process.env.BENCH_CDC_SIZES ?? (QUICK ? '5000' : '20000,100000')).split(',').map(Number);
const RATES = (process.env.BENCH_CDC_RATES ?? '10,1000').split(',').map(Number);
/** Seconds of steady load per rate (at least 200 rows at the lowest rate). */
const lagSeconds = (rate: number): number => (QUICK ? 5 : Math.max(10, Math.ceil(200 / rate)));
const TXN_ROWS = 1_000;
const CLI = resolve(__dirname, '../../src/cli/main.js');
/** Seconds over which each contender's idle CPU is read, its pipeline running with nothing to do. */
const IDLE_CPU_SECONDS = QUICK ? 3 : 10;

if (SIZES.some((s) => !Number.isInteger(s) || s < 1) || RATES.some((r) => !(r >= 10 && r % 10 === 0))) {
  throw new Error('BENCH_CDC_SIZES: whole numbers; BENCH_CDC_RATES: multiples of 10 rows/s');
}

/** What a contender works on: its own table, slot, publication and topic. */
interface Target {
  name: string;
  table: string;
  slot: string;
  publication: string;
  topic: string;
}

interface Contender {
  id: 'prism' | 'raw' | 'raw-records' | 'debezium';
  label: string;
  /** Whether the bench creates the slot and publication (Prism's pipeline creates its own). */
  ownsCapture: boolean;
  start(target: Target): Promise<Running>;
}

interface Running {
  /** The process that does the work (Prism: the worker), for its idle CPU. */
  pid: number;
  stop(): Promise<void>;
}

/** An independent consumer of one topic: when each row id (after.id) first arrived. */
class ArrivalConsumer {
  readonly arrivals = new Map<number, number>();
  private consumer?: Consumer;

  constructor(private readonly kafka: Kafka) {}

  async start(topic: string): Promise<void> {
    this.consumer = this.kafka.consumer({ groupId: uniqueName('cdc-bench'), maxWaitTimeInMs: 50 });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [topic], fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ message }) => {
        const now = performance.now();
        const body = JSON.parse(message.value?.toString('utf8') ?? 'null') as {
          after?: { id?: unknown } | null;
        } | null;
        const id = Number(body?.after?.id);
        if (Number.isFinite(id) && !this.arrivals.has(id)) this.arrivals.set(id, now);
      },
    });
  }

  countIn(from: number, to: number): number {
    let n = 0;
    for (const id of this.arrivals.keys()) if (id >= from && id <= to) n++;
    return n;
  }

  async waitFor(from: number, to: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.countIn(from, to) < to - from + 1) {
      if (Date.now() > deadline) {
        throw new Error(`consumer has ${this.countIn(from, to)} of rows ${from}..${to} after ${timeoutMs / 1000} s`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

const insertRange = (pg: Client, table: string, from: number, to: number) =>
  pg.query(
    `INSERT INTO public.${table} SELECT g, 'name ' || g, g * 1.5, repeat('x', 40) FROM generate_series($1::int, $2::int) g`,
    [from, to],
  );

/** Drops a slot (ending the walsender that still holds it) and a publication; never throws. */
async function dropCapture(pg: Client, slot: string, publication: string): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const r = await pg
      .query<{ active_pid: number | null }>('SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1', [slot])
      .catch(() => ({ rows: [] as { active_pid: number | null }[] }));
    if (r.rows.length === 0) break;
    if (r.rows[0]!.active_pid !== null) {
      await pg.query('SELECT pg_terminate_backend($1)', [r.rows[0]!.active_pid]).catch(() => undefined);
      await new Promise((res) => setTimeout(res, 250));
    }
    const dropped = await pg.query('SELECT pg_drop_replication_slot($1)', [slot]).then(
      () => true,
      () => false,
    );
    if (dropped) break;
    await new Promise((res) => setTimeout(res, 250));
  }
  await pg.query(`DROP PUBLICATION IF EXISTS ${publication}`).catch(() => undefined);
}

/** Runs the prism CLI (the built one) with the task queue in its environment. */
function prism(taskQueue: string, args: string[]): Promise<string> {
  return new Promise((res, rej) => {
    const proc = spawn(process.execPath, [CLI, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PRISM_TASK_QUEUE: taskQueue },
    });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    proc.once('exit', (code) => (code === 0 ? res(out) : rej(new Error(`prism ${args.join(' ')}: ${out.trim()}`))));
  });
}

function prismContender(worker: () => Promise<{ taskQueue: string; pid: number }>): Contender {
  return {
    id: 'prism',
    label: 'Prism (prism cdc start)',
    ownsCapture: false,
    async start(t) {
      const { taskQueue, pid } = await worker();
      const input = { pipeline: t.name, tables: [`public.${t.table}`], topics: { [`public.${t.table}`]: t.topic } };
      await prism(taskQueue, ['cdc', 'start', '--input', JSON.stringify(input)]);
      return {
        pid,
        async stop() {
          await prism(taskQueue, ['cdc', 'drop', t.name]);
        },
      };
    },
  };
}

function rawContender(records: 'minimal' | 'prism'): Contender {
  return {
    id: records === 'prism' ? 'raw-records' : 'raw',
    label:
      records === 'prism' ? "raw streaming reader → kafkajs, Prism's record shape" : 'raw streaming reader → kafkajs',
    ownsCapture: true,
    async start(t) {
      const proc = await startRawCdc({
        postgresUrl: stackEnv.postgresUrl,
        slot: t.slot,
        publication: t.publication,
        brokers: stackEnv.kafkaBrokers,
        topic: t.topic,
        records,
      });
      return { pid: proc.pid, stop: () => proc.stop() };
    },
  };
}

const debeziumContender: Contender = {
  id: 'debezium',
  label: 'Debezium 3.6.1 embedded → KafkaProducer',
  ownsCapture: true,
  async start(t) {
    const proc = await startDebezium({
      postgresUrl: stackEnv.postgresUrl,
      slot: t.slot,
      publication: t.publication,
      tables: `public.${t.table}`,
      brokers: stackEnv.kafkaBrokers,
      topic: t.topic,
    });
    return { pid: proc.pid, stop: () => proc.stop() };
  },
};

interface Figures {
  throughput: Map<number, number>;
  lag: Map<number, { p50: number; p99: number }>;
  /** % of one core while nothing is written. */
  idleCpu: number;
}

/** One contender on its own table: start, warm up, throughput at each size, lag at each rate. */
async function measureContender(pg: Client, admin: Admin, kafka: Kafka, c: Contender): Promise<Figures> {
  const name = `bench_${c.id.replace(/-/g, '_')}_${uniqueName('c')
    .replace(/[^a-z0-9]/gi, '')
    .toLowerCase()}`.slice(0, 40);
  const target: Target = {
    name,
    table: `cdc_${name}`,
    slot: c.ownsCapture ? name : `prism_cdc_${name}`,
    publication: c.ownsCapture ? `${name}_pub` : `prism_cdc_${name}_pub`,
    topic: `bench-cdc-${c.id}-${name.replace(/_/g, '-')}`,
  };
  const figures: Figures = { throughput: new Map(), lag: new Map(), idleCpu: NaN };
  const consumer = new ArrivalConsumer(kafka);
  let running: Running | undefined;
  try {
    await pg.query(
      `CREATE TABLE public.${target.table} (id int PRIMARY KEY, name text, amount numeric(10,2), note text)`,
    );
    if (c.ownsCapture) {
      await pg.query(`CREATE PUBLICATION ${target.publication} FOR TABLE public.${target.table}`);
      await pg.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [target.slot]);
    }
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: target.topic, numPartitions: 1 }] });
    await consumer.start(target.topic);
    running = await c.start(target);

    // Warm-up: a sentinel row (negative id) a second until one arrives (Prism's pipeline creates
    // its slot once started: rows written before that are not its to deliver).
    const warmDeadline = Date.now() + 120_000;
    for (let s = -1; consumer.countIn(-1e9, -1) === 0; s--) {
      if (Date.now() > warmDeadline) throw new Error(`${c.label}: no sentinel row arrived in 120 s`);
      await insertRange(pg, target.table, s, s);
      const until = Date.now() + 1000;
      while (consumer.countIn(-1e9, -1) === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    }

    let next = 1;
    for (const n of SIZES) {
      const from = next;
      const to = next + n - 1;
      next = to + 1;
      const t = performance.now();
      for (let i = from; i <= to; i += TXN_ROWS) await insertRange(pg, target.table, i, Math.min(i + TXN_ROWS - 1, to));
      // Generous: a contender far behind on a loaded machine still gets its figure.
      await consumer.waitFor(from, to, Math.max(600_000, n * 20));
      const ms = Math.max(...[...consumer.arrivals].filter(([id]) => id >= from && id <= to).map(([, at]) => at)) - t;
      figures.throughput.set(n, (n / ms) * 1000);
    }

    for (const rate of RATES) {
      const perTick = rate / 10;
      const ticks = lagSeconds(rate) * 10;
      const from = next;
      next += perTick * ticks;
      const issued = new Map<number, number>();
      const t0 = performance.now();
      for (let tick = 0; tick < ticks; tick++) {
        const first = from + tick * perTick;
        const at = performance.now();
        for (let id = first; id < first + perTick; id++) issued.set(id, at);
        await insertRange(pg, target.table, first, first + perTick - 1);
        const wait = t0 + (tick + 1) * 100 - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      // A contender that cannot keep up drains its backlog here: its lag shows the queueing.
      await consumer.waitFor(from, next - 1, 600_000);
      const lags = [...issued].map(([id, at]) => consumer.arrivals.get(id)! - at);
      figures.lag.set(rate, { p50: percentile(lags, 50), p99: percentile(lags, 99) });
    }
    await new Promise((r) => setTimeout(r, 1000));
    figures.idleCpu = await cpuPercentOver(running.pid, IDLE_CPU_SECONDS * 1000);
    return figures;
  } finally {
    await running?.stop().catch((err: unknown) => process.stderr.write(`[bench] cdc ${c.id} stop: ${String(err)}\n`));
    await consumer.stop().catch(() => undefined);
    await dropCapture(pg, target.slot, target.publication);
    await pg.query(`DROP TABLE IF EXISTS public.${target.table}`).catch(() => undefined);
    await admin.deleteTopics({ topics: [target.topic] }).catch(() => undefined);
  }
}

/** Why the Debezium peer is left out of this run (null: it runs), decided once per process. */
let debeziumSkipped: string | null | undefined;

export const cdcCase: BenchCase = {
  id: 'cdc',
  title: 'CDC Postgres → Kafka: Prism vs a raw streaming reader and Debezium',
  get about(): string {
    return (
      `Three contenders one after the other on the same Postgres and Kafka, each on its own table, slot, publication and topic: ` +
      `Prism as a user runs it (a worker with a postgres source and a kafka sink, nothing tuned; \`prism cdc start\`, \`prism cdc drop\`), ` +
      `a raw streaming logical-replication reader (pg-logical-replication, pgoutput) producing with kafkajs and confirming after Kafka's acks, ` +
      `the same raw loop sending records shaped as Prism's (its body fields and its headers, built by hand: the cost of the record without Prism's pipeline), ` +
      `and Debezium 3.6.1.Final (embedded engine, Postgres connector, pgoutput, poll.interval.ms 10) producing with a KafkaProducer (acks=all). ` +
      `Throughput: N rows in transactions of ${TXN_ROWS.toLocaleString('en-US')} back to back, first insert → an independent kafkajs consumer has all N. ` +
      `Lag: one transaction every 100 ms at the rate named, insert issued → consumer received, p50/p99 (the bench's inserts commit with synchronous_commit on: the demo stack's default, off, holds their WAL up to 200 ms for every contender alike). ` +
      `Idle CPU: % of one core used by the process doing the work (Prism: its worker) over ${IDLE_CPU_SECONDS} s with the pipeline running and nothing written.` +
      (debeziumSkipped ? ` **Debezium skipped: ${debeziumSkipped}.**` : '')
    );
  },
  async run(repetition): Promise<Measurement[]> {
    debeziumSkipped ??= process.env.BENCH_SKIP_DEBEZIUM === '1' ? 'BENCH_SKIP_DEBEZIUM=1' : buildDebezium();
    if (debeziumSkipped) process.stdout.write(` [Debezium skipped: ${debeziumSkipped}]`);
    const pg = new Client({ connectionString: stackEnv.postgresUrl });
    await pg.connect();
    // The demo stack runs with synchronous_commit off: a commit's WAL then waits for the WAL
    // writer (wal_writer_delay, 200 ms) before any replication reader may see it, a floor under
    // every contender's lag that is the server's, not theirs. The bench's own writes commit
    // synchronously, so the lag measured is the pipelines'.
    await pg.query('SET synchronous_commit = on');
    const kafka = new Kafka({ clientId: 'cdc-bench', brokers: stackEnv.kafkaBrokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    let worker: { proc: WorkerProcess; taskQueue: string } | undefined;
    const startPrismWorker = async (): Promise<{ taskQueue: string; pid: number }> => {
      if (!worker) {
        const taskQueue = uniqueName('cdc-bench');
        const proc = await startWorker(
          testConfig(taskQueue, {
            backends: {
              pg: { driver: 'postgres', config: { url: stackEnv.postgresUrl } },
              kafka: { driver: 'kafka', config: { brokers: stackEnv.kafkaBrokers } },
            },
            patterns: { cdc: { slots: { source: 'pg', sink: 'kafka' } } },
          }),
        );
        worker = { proc, taskQueue };
      }
      return { taskQueue: worker.taskQueue, pid: worker.proc.proc.pid! };
    };
    const contenders = [
      prismContender(startPrismWorker),
      rawContender('minimal'),
      rawContender('prism'),
      ...(debeziumSkipped ? [] : [debeziumContender]),
    ];
    // A different one goes first in each repetition, so none always meets a cold cache.
    const order = contenders.map((_, i) => contenders[(i + repetition) % contenders.length]!);
    const figures = new Map<Contender['id'], Figures>();
    try {
      for (const c of order) {
        process.stdout.write(` [${c.id}]`);
        figures.set(
          c.id,
          await measureContender(pg, admin, kafka, c).catch((err: unknown) => {
            throw new Error(`${c.label}: ${(err as Error).message}`, { cause: err });
          }),
        );
      }
    } finally {
      await worker?.proc.stop();
      await admin.disconnect();
      await pg.end();
    }
    const ours = figures.get('prism')!;
    const out: Measurement[] = [];
    for (const base of contenders.filter((c) => c.id !== 'prism')) {
      const b = figures.get(base.id)!;
      for (const n of SIZES) {
        out.push({
          name: `events/s vs ${base.id}, ${n.toLocaleString('en-US')} rows`,
          series: `vs ${base.id}`,
          unit: 'events/s',
          better: 'higher',
          ours: ours.throughput.get(n)!,
          baseline: b.throughput.get(n)!,
          baselineName: base.label,
          size: n,
        });
      }
      for (const rate of RATES) {
        for (const p of ['p50', 'p99'] as const) {
          out.push({
            name: `lag ${p} vs ${base.id}, ${rate.toLocaleString('en-US')} rows/s`,
            unit: 'ms',
            better: 'lower',
            ours: ours.lag.get(rate)![p],
            baseline: b.lag.get(rate)![p],
            baselineName: base.label,
            size: rate,
          });
        }
      }
      out.push({
        name: `idle CPU, pipeline running, vs ${base.id}`,
        unit: '% of a core',
        better: 'lower',
        ours: ours.idleCpu,
        baseline: b.idleCpu,
        baselineName: base.label,
      });
    }
    return out;
  },
};
