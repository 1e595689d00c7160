// TRUNCATE through a CDC pipeline: one `t` event per captured table (Debezium's shape: before and
// after null, source naming the table), filtered by table and operation like rows, delivered to
// Kafka between the rows committed before and after it, whatever their keys, and confirmed only
// once delivered. Checked by an independent kafkajs consumer.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from 'pg';
import { roundsOf } from '../../../src/activities/cdc/sink-activities';
import type { RowChange } from '../../../src/drivers/capabilities';
import { postgresDriver } from '../../../src/drivers/postgres';
import { PrismClient, type Started } from '../../../src/client/prism-client';
import type { CdcEvent } from '../../../src/workflows/cdc/events';
import { runPipeline, type PipelineSpec } from '../../../src/workflows/cdc/pipeline';
import { CdcTestConsumer } from '../../helpers/cdc-kafka';
import { stackEnv, uniqueName } from '../../helpers/env';
import { startWorker, waitFor, type WorkerProcess } from '../../helpers/worker-process';
import { cdcName, cdcWorkerConfig, dropCapture, pgClient } from './setup';
import { pipelineStatus } from '../../../src/client/cdc';

const change = (op: RowChange['op'], table: string, sequence: number, id?: number): RowChange => ({
  op,
  schema: 'public',
  table,
  lsn: '0/10',
  txId: 7,
  sequence,
  before: null,
  after: id === undefined ? null : { id, secret: 's' },
  key: id === undefined ? {} : { id },
  commitTime: '2026-01-01T00:00:00.000Z',
});

describe('cdc truncate: pipeline rules', () => {
  const spec: PipelineSpec = {
    db: 'prism',
    filter: {},
    transforms: [{ rename: { id: 'orderId' }, drop: [], mask: ['secret'] }],
    topicPrefix: 'p',
    topics: {},
  };
  const batch = [
    change('c', 'orders', 1, 1),
    change('t', 'orders', 2),
    change('t', 'other', 3),
    change('c', 'orders', 4, 2),
  ];

  it('a truncate becomes a t event with no row, on its table topic, transforms leaving it as it is', () => {
    const messages = runPipeline(batch, spec);
    assert.deepEqual(
      messages.map((m) => `${m.op} ${m.topic} ${m.key}`),
      [
        'c p.public.orders {"orderId":1}',
        't p.public.orders {}',
        't p.public.other {}',
        'c p.public.orders {"orderId":2}',
      ],
    );
    const t = messages[1]!.body as CdcEvent;
    assert.deepEqual(
      {
        id: t.id,
        op: t.op,
        before: t.before,
        after: t.after,
        key: t.key,
        table: t.source.table,
        seq: t.source.sequence,
      },
      { id: '0/10:2', op: 't', before: null, after: null, key: {}, table: 'orders', seq: 2 },
    );
    assert.deepEqual((messages[0]!.body as CdcEvent).after, { orderId: 1, secret: '***' });
  });

  it('table and operation filters apply to truncates as to rows', () => {
    const only = (filter: PipelineSpec['filter']) =>
      runPipeline(batch, { ...spec, filter }).map((m) => `${m.op} ${m.table}`);
    assert.deepEqual(only({ tables: ['orders'] }), ['c public.orders', 't public.orders', 'c public.orders']);
    assert.deepEqual(only({ operations: ['c', 'u', 'd'] }), ['c public.orders', 'c public.orders']);
    assert.deepEqual(only({ operations: ['t'] }), ['t public.orders', 't public.other']);
  });

  it('the sink sends a truncate alone, after everything before it and before everything after it', () => {
    const messages = runPipeline(batch, spec);
    assert.deepEqual(
      roundsOf(messages).map((round) => round.map((m) => m.id)),
      [['0/10:1'], ['0/10:2'], ['0/10:3'], ['0/10:4']],
    );
    assert.deepEqual(roundsOf(messages.filter((m) => m.op !== 't')).length, 1, 'rows alone: one round');
  });
});

describe('cdc truncate: Postgres → Kafka', () => {
  const taskQueue = uniqueName('cdc-truncate');
  const pipeline = cdcName('trunc');
  const table = `cdc_trunc_${pipeline}`;
  const untracked = `cdc_untracked_${pipeline}`;
  const topic = `${pipeline}.public.${table}`;
  let worker: WorkerProcess;
  let client: PrismClient;
  let pg: Client;
  const consumer = new CdcTestConsumer();
  const started: Started[] = [];

  before(async () => {
    pg = await pgClient();
    await pg.query(`CREATE TABLE public.${table} (id int PRIMARY KEY, note text)`);
    await pg.query(`CREATE TABLE public.${untracked} (id int PRIMARY KEY)`);
    await consumer.start([topic]);
    worker = await startWorker(cdcWorkerConfig(taskQueue));
    client = await PrismClient.connect({ taskQueue });
  });

  after(async () => {
    for (const s of started) await s.handle.terminate('test cleanup').catch(() => undefined);
    await consumer.stop();
    await client?.close();
    await worker?.stop();
    await dropCapture(pg, pipeline);
    await pg.query(`DROP TABLE IF EXISTS public.${table}, public.${untracked}`);
    await pg.end();
  });

  it('delivers the t event between the rows inserted before and after it, and confirms past it', async () => {
    // The pipeline's slot made first, and the changes written before the pipeline starts: its first
    // batch holds four changes of each of five keys, the truncate and five more keys, so the sink's
    // concurrency across keys would reorder them were the truncate not sent alone.
    const source = await postgresDriver.create(postgresDriver.configSchema.parse({ url: stackEnv.postgresUrl }), {
      backend: 'test',
    });
    try {
      await source.ensureCapture!({
        slot: `prism_cdc_${pipeline}`,
        publication: `prism_cdc_${pipeline}_pub`,
        tables: [`public.${table}`],
      });
    } finally {
      await source.close();
    }
    await pg.query(`INSERT INTO ${table} SELECT g, 'before' FROM generate_series(1, 5) g`);
    // Longer chains per key before the truncate: sent concurrently, they would still be running.
    for (let round = 1; round <= 3; round++) await pg.query(`UPDATE ${table} SET note = 'update ${round}'`);
    await pg.query(`INSERT INTO ${untracked} VALUES (1)`);
    await pg.query(`TRUNCATE ${table}, ${untracked}`);
    await pg.query(`INSERT INTO ${table} SELECT g, 'after' FROM generate_series(6, 10) g`);
    const { rows } = await pg.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    const writtenUpTo = rows[0]!.lsn;

    const run = await client.start('cdcPipelineWorkflow', [{ pipeline, tables: [`public.${table}`] }], {
      pattern: 'cdc',
      workflowId: `cdc-${pipeline}`,
    });
    started.push(run);

    await consumer.waitForCount(26);
    const events = consumer.records.map((r) => r.body as unknown as CdcEvent);
    const order = events.map((e) => (e.op === 't' ? 't' : `${e.op}${String(e.after?.id)}`));
    const at = order.indexOf('t');
    assert.equal(order.filter((o) => o === 't').length, 1, `one truncate, for the captured table only: ${order}`);
    const updates = [1, 2, 3, 4, 5].flatMap((id) => [`c${id}`, `u${id}`, `u${id}`, `u${id}`]);
    assert.deepEqual(order.slice(0, at).sort(), updates.sort(), `before the truncate: ${order}`);
    assert.deepEqual(order.slice(at + 1).sort(), ['c10', 'c6', 'c7', 'c8', 'c9'], `after it: ${order}`);

    const t = events[at]!;
    const record = consumer.records[at]!;
    assert.equal(t.op, 't');
    assert.equal(t.before, null);
    assert.equal(t.after, null);
    assert.deepEqual(t.key, {});
    assert.deepEqual(
      { db: t.source.db, schema: t.source.schema, table: t.source.table },
      {
        db: 'prism',
        schema: 'public',
        table,
      },
    );
    assert.equal(record.id, t.id);
    assert.equal(t.id, `${t.source.lsn}:${t.source.sequence}`);
    assert.equal(record.name, topic);

    // Confirmed like any other event: the slot moves past the truncate only after delivery.
    const status = await waitFor('the pipeline to confirm past the writes', async () => {
      const s = await pipelineStatus(run.handle);
      if (s.totals.eventsDelivered < 26) return null;
      const slot = await pg.query<{ past: boolean }>(
        `SELECT confirmed_flush_lsn >= $2::pg_lsn AS past FROM pg_replication_slots WHERE slot_name = $1`,
        [`prism_cdc_${pipeline}`, t.source.lsn],
      );
      return slot.rows[0]?.past ? s : null;
    });
    assert.equal(status.state, 'running');
    process.stdout.write(`# order on the topic: ${order.join(' ')} (writes up to ${writtenUpTo})\n`);
  });
});
