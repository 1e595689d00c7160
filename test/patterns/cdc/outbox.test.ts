// Outbox mode: rows of a transactional outbox table are delivered to a topic per aggregate type,
// in order per aggregate, and marked published only after Kafka accepted them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from 'pg';
import { PrismClient, type Started } from '../../../src/client/prism-client';
import type { OutboxEvent } from '../../../src/workflows/cdc/outbox';
import type { CdcStatus } from '../../../src/workflows/cdc/status';
import { CdcTestConsumer } from '../../helpers/cdc-kafka';
import { uniqueName } from '../../helpers/env';
import { startWorker, waitFor, type WorkerProcess } from '../../helpers/worker-process';
import { cdcName, cdcWorkerConfig, pgClient } from './setup';

describe('cdc: outbox mode', () => {
  const taskQueue = uniqueName('cdc-outbox');
  const pipeline = cdcName('ob');
  const table = `outbox_${pipeline}`;
  let worker: WorkerProcess;
  let client: PrismClient;
  let pg: Client;
  const runs: Started[] = [];
  const consumer = new CdcTestConsumer();

  before(async () => {
    pg = await pgClient();
    await pg.query(`CREATE TABLE public.${table} (
      id bigserial PRIMARY KEY, aggregate_type text NOT NULL, aggregate_id text NOT NULL,
      event_type text NOT NULL, payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      published_at timestamptz)`);
    await consumer.start([`${pipeline}.order`, `${pipeline}.customer`]);
    worker = await startWorker(cdcWorkerConfig(taskQueue));
    client = await PrismClient.connect({ taskQueue });
  });

  after(async () => {
    for (const r of runs) await r.handle.terminate('test cleanup').catch(() => undefined);
    await consumer.stop();
    await client?.close();
    await worker?.stop();
    await pg.query(`DROP TABLE IF EXISTS public.${table}`);
    await pg.end();
  });

  const insert = (type: string, id: string, event: string, payload: unknown) =>
    pg.query(`INSERT INTO ${table} (aggregate_type, aggregate_id, event_type, payload) VALUES ($1, $2, $3, $4)`, [
      type,
      id,
      event,
      JSON.stringify(payload),
    ]);

  it('delivers outbox rows in order per aggregate and marks them published', async () => {
    // Rows written before the pipeline starts are delivered too.
    await insert('order', 'o-1', 'OrderPlaced', { total: 10 });
    const run = await client.start(
      'cdcPipelineWorkflow',
      [{ pipeline, mode: 'outbox', outbox: { table: `public.${table}` }, idleWaitMs: 300, batchSize: 3 }],
      { pattern: 'cdc' },
    );
    runs.push(run);
    await pg.query('BEGIN');
    await insert('order', 'o-1', 'OrderPaid', { total: 10 });
    await insert('customer', 'c-1', 'CustomerCreated', { name: 'Ann' });
    await pg.query('COMMIT');
    await insert('order', 'o-2', 'OrderPlaced', { total: 3 });
    await insert('order', 'o-1', 'OrderShipped', {});
    await insert('customer', 'c-1', 'CustomerRenamed', { name: 'Annie' });

    await consumer.waitForCount(6);
    const perAggregate = (key: string) =>
      consumer.records.filter((r) => r.key === key).map((r) => (r.body as unknown as OutboxEvent).eventType);
    assert.deepEqual(perAggregate('o-1'), ['OrderPlaced', 'OrderPaid', 'OrderShipped']);
    assert.deepEqual(perAggregate('o-2'), ['OrderPlaced']);
    assert.deepEqual(perAggregate('c-1'), ['CustomerCreated', 'CustomerRenamed']);
    const renamed = consumer.records.find((r) => (r.body as unknown as OutboxEvent).eventType === 'CustomerRenamed')!;
    assert.equal(renamed.name, `${pipeline}.customer`);
    assert.deepEqual((renamed.body as unknown as OutboxEvent).payload, { name: 'Annie' });
    assert.match(renamed.id, new RegExp(`^outbox:public\\.${table}:\\d+$`));

    await waitFor('every row marked published', async () => {
      const r = await pg.query(`SELECT count(*)::int AS n FROM ${table} WHERE published_at IS NULL`);
      return (r.rows[0] as { n: number }).n === 0;
    });
    const status = await run.handle.query<CdcStatus>('status');
    assert.equal(status.totals.eventsDelivered, 6);
    await run.handle.signal('stop');
    assert.equal(((await run.handle.result()) as CdcStatus).state, 'stopped');
    assert.equal(consumer.records.length, 6, 'each row delivered once');
  });

  it('fails before any work when the outbox table is missing', async () => {
    const run = await client.start(
      'cdcPipelineWorkflow',
      [{ pipeline: cdcName('obmissing'), mode: 'outbox', outbox: { table: 'public.no_such_outbox' } }],
      { pattern: 'cdc' },
    );
    runs.push(run);
    await assert.rejects(run.handle.result(), (err: Error) => {
      const cause = (err as { cause?: { cause?: { type?: string; message?: string } } }).cause?.cause;
      assert.equal(cause?.type, 'CdcConfigError');
      assert.match(cause?.message ?? '', /outbox table not found: public\.no_such_outbox/);
      return true;
    });
  });
});
