// CDC under chaos: a writer (raw pg) inserts rows and updates them, `changes` changes in all at a
// steady pace, while a pipeline (Postgres logical replication → Kafka, started as the CLI starts
// it) delivers them. Each row carries its version `v` (0 on insert, +1 per update), so what the
// sink must hold follows from the table's final state: every (id, v) from 0 to the row's last v,
// once after de-duplication by event id, and in increasing v per key.
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { Client } from 'pg';
import { pipelineWorkflowId } from '../../src/cli/commands/cdc';
import type { PrismClient } from '../../src/client/prism-client';
import type { CdcPipelineInput } from '../../src/workflows/cdc/input';
import { examples, retrying, sleep, until, type PatternCheck, type PatternLoad } from './load';
import type { LoadTarget } from './target';

/** Changes per statement (one transaction each). */
const STATEMENT = 100;
/** Versions per row: the insert and nine updates. */
const VERSIONS = 10;

interface SinkEvent {
  id: string;
  key: number;
  v: number;
}

export class CdcLoad implements PatternLoad {
  readonly name = 'cdc' as const;
  private readonly pipeline: string;
  private readonly table: string;
  private readonly topic: string;
  private readonly kafka: Kafka;
  private admin?: Admin;
  private written = 0;
  private writerDone = false;
  private writerError?: string;
  private writerRetries = 0;
  private onSink = 0;
  private polling?: NodeJS.Timeout;
  private expected?: Map<number, number>;

  constructor(
    private readonly target: LoadTarget,
    private readonly prism: PrismClient,
    run: string,
    private readonly changes: number,
    private readonly writeSeconds: number,
    private readonly deadline: number,
  ) {
    const tag = run.replace(/-/g, '_');
    this.pipeline = `chaos_${tag}`;
    this.table = `chaos_cdc_${tag}`;
    this.topic = `chaos-cdc-${run}`;
    this.kafka = new Kafka({
      clientId: 'chaos-cdc-check',
      brokers: target.kafkaBrokers,
      logLevel: logLevel.NOTHING,
      retry: { retries: 3 },
    });
  }

  private get rows(): number {
    return Math.ceil(this.changes / VERSIONS);
  }

  describe(): string {
    const rate = Math.round(this.changes / this.writeSeconds);
    return `${this.changes.toLocaleString('en-US')} changes (${this.rows.toLocaleString('en-US')} rows inserted, then updated, ${STATEMENT} per transaction, ~${rate}/s), Postgres logical replication → Kafka`;
  }

  private async pg(): Promise<Client> {
    const client = new Client({ connectionString: this.target.postgresUrl, connectionTimeoutMillis: 3000 });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  }

  async prepare(): Promise<void> {
    const pg = await this.pg();
    try {
      await pg.query(`CREATE TABLE public.${this.table} (id int PRIMARY KEY, v int NOT NULL, note text)`);
    } finally {
      await pg.end();
    }
    this.admin = this.kafka.admin();
    await this.admin.connect();
    // A Kafka cluster just started may answer a new topic's metadata with "does not host this
    // topic-partition" for a few seconds while its leaders settle: that is not the load's failure.
    await retrying(
      () => this.admin!.createTopics({ waitForLeaders: true, topics: [{ topic: this.topic, numPartitions: 1 }] }),
      Date.now() + 60_000,
      1000,
    );
    const input: CdcPipelineInput = {
      pipeline: this.pipeline,
      tables: [`public.${this.table}`],
      topics: { [`public.${this.table}`]: this.topic },
      batchSize: 500,
    };
    await this.prism.start('cdcPipelineWorkflow', [input], { pattern: 'cdc', workflowId: this.workflowId });
    // Changes count from the slot's creation: the writer waits for it.
    await retrying(async () => {
      const c = await this.pg();
      try {
        const r = await c.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [
          `prism_cdc_${this.pipeline}`,
        ]);
        if (r.rowCount === 0) throw new Error(`slot of pipeline ${this.pipeline} not created yet`);
      } finally {
        await c.end();
      }
    }, Date.now() + 120_000);
  }

  private get workflowId(): string {
    return pipelineWorkflowId(this.pipeline);
  }

  /** The statements in order: inserts first, then the updates round by round. */
  private statement(n: number): { sql: string; args: number[] } {
    const perRound = Math.ceil(this.rows / STATEMENT);
    const round = Math.floor(n / perRound);
    const from = (n % perRound) * STATEMENT + 1;
    const to = Math.min(from + STATEMENT - 1, this.rows);
    if (round === 0) {
      return {
        sql: `INSERT INTO public.${this.table} SELECT g, 0, 'row ' || g FROM generate_series($1::int, $2::int) g ON CONFLICT (id) DO NOTHING`,
        args: [from, to],
      };
    }
    return { sql: `UPDATE public.${this.table} SET v = v + 1 WHERE id BETWEEN $1 AND $2`, args: [from, to] };
  }

  start(): void {
    void this.write().catch((err: Error) => {
      this.writerError = err.message;
      this.writerDone = true;
    });
    this.polling = setInterval(() => void this.pollSink(), 1000);
  }

  private async write(): Promise<void> {
    const statements = Math.ceil(this.rows / STATEMENT) * VERSIONS;
    const perStatementMs = (this.writeSeconds * 1000) / statements;
    const t0 = Date.now();
    let pg: Client | undefined;
    for (let n = 0; n < statements; n++) {
      const wait = t0 + n * perStatementMs - Date.now();
      if (wait > 0) await sleep(wait);
      const { sql, args } = this.statement(n);
      // Postgres may be down: reconnect and run the statement again (the check reads the
      // versions the table ended with, so an update applied twice is two changes, not an error).
      await retrying(async () => {
        try {
          pg ??= await this.pg();
          await pg.query(sql, args);
        } catch (err) {
          this.writerRetries++;
          await pg?.end().catch(() => undefined);
          pg = undefined;
          throw err;
        }
      }, this.deadline);
      this.written += args[1] - args[0] + 1;
    }
    await pg?.end();
    this.writerDone = true;
  }

  private inFlight = false;
  private async pollSink(): Promise<void> {
    if (this.inFlight || !this.admin) return;
    this.inFlight = true;
    try {
      const offsets = await this.admin.fetchTopicOffsets(this.topic);
      this.onSink = Math.max(
        this.onSink,
        offsets.reduce((n, o) => n + Number(o.high), 0),
      );
    } catch {
      // Kafka is down: no progress to see.
    } finally {
      this.inFlight = false;
    }
  }

  progress(): number {
    return this.onSink;
  }

  pending(): boolean {
    return !this.writerDone || this.onSink < this.written;
  }

  async finish(deadline: number): Promise<void> {
    await until(() => this.writerDone, deadline);
    // What the table ended with; the sink holds at least that many records once delivered.
    this.expected = await retrying(async () => {
      const pg = await this.pg();
      try {
        const r = await pg.query<{ id: number; v: number }>(`SELECT id, v FROM public.${this.table}`);
        return new Map(r.rows.map((row) => [row.id, row.v]));
      } finally {
        await pg.end();
      }
    }, deadline);
    const total = [...this.expected.values()].reduce((n, v) => n + v + 1, 0);
    await until(() => this.onSink >= total, deadline, 500);
  }

  /** Reads the whole topic from the beginning with a consumer group of its own. */
  private async readSink(deadline: number): Promise<SinkEvent[]> {
    const offsets = await this.admin!.fetchTopicOffsets(this.topic);
    const end = offsets.reduce((n, o) => n + Number(o.high), 0);
    const events: SinkEvent[] = [];
    let read = 0;
    const consumer = this.kafka.consumer({ groupId: `chaos-cdc-check-${Date.now()}`, maxWaitTimeInMs: 200 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [this.topic], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          read++;
          const body = JSON.parse(message.value?.toString('utf8') ?? 'null') as {
            id?: string;
            after?: { id: number; v: number } | null;
          } | null;
          const id = body?.id ?? '';
          if (body?.after) events.push({ id, key: body.after.id, v: body.after.v });
        },
      });
      await until(() => read >= end, deadline, 200);
    } finally {
      await consumer.disconnect();
    }
    return events;
  }

  async check(): Promise<PatternCheck> {
    const problems: string[] = [];
    if (this.writerError) problems.push(`writer gave up: ${this.writerError}`);
    const expected = this.expected ?? new Map<number, number>();
    const events = await this.readSink(Date.now() + 120_000);
    const seenIds = new Set<string>();
    const lastV = new Map<number, number>();
    const seenVersions = new Set<string>();
    let duplicates = 0;
    let sameChangeOtherId = 0;
    const outOfOrder: string[] = [];
    for (const e of events) {
      if (seenIds.has(e.id)) {
        duplicates++;
        continue;
      }
      seenIds.add(e.id);
      const version = `${e.key}@${e.v}`;
      if (seenVersions.has(version)) sameChangeOtherId++;
      seenVersions.add(version);
      const last = lastV.get(e.key);
      if (last !== undefined && e.v <= last) outOfOrder.push(`${e.key}: v${e.v} after v${last}`);
      lastV.set(e.key, Math.max(e.v, last ?? -1));
    }
    const missing: string[] = [];
    let total = 0;
    for (const [key, v] of expected) {
      for (let i = 0; i <= v; i++) {
        total++;
        if (!seenVersions.has(`${key}@${i}`)) missing.push(`${key}@${i}`);
      }
    }
    if (expected.size !== this.rows) problems.push(`table holds ${expected.size} rows, ${this.rows} were written`);
    if (missing.length > 0) problems.push(`${missing.length} changes not on the sink: ${examples(missing)}`);
    if (outOfOrder.length > 0) problems.push(`${outOfOrder.length} out of order per key: ${examples(outOfOrder)}`);
    if (sameChangeOtherId > 0)
      problems.push(
        `${sameChangeOtherId} changes delivered again under another event id (not caught by de-duplication)`,
      );
    return {
      pattern: this.name,
      ok: problems.length === 0,
      counts: {
        'changes committed': total,
        'writer retries': this.writerRetries,
        'records on sink': events.length,
        'distinct events': seenIds.size,
        'duplicates (by id)': duplicates,
        missing: missing.length,
        'out of order': outOfOrder.length,
      },
      problems,
    };
  }

  async close(): Promise<void> {
    if (this.polling) clearInterval(this.polling);
    // Stop the pipeline and drop its slot (a slot left behind keeps WAL forever); one that does
    // not stop in time is terminated (the next run's clean-up drops its slot).
    const handle = this.prism.handle(this.workflowId);
    const stopped = await retrying(() => handle.signal('stop', { drop: true }), Date.now() + 30_000)
      .then(() => Promise.race([handle.result().then(() => true), sleep(30_000).then(() => false)]))
      .catch(() => false);
    if (!stopped) await handle.terminate('chaos run over').catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
  }
}
