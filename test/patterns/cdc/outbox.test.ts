// Outbox mode: rows of a transactional outbox table are delivered to a topic per aggregate type,
// in order per aggregate, and marked published only after Kafka accepted them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import type { Client } from 'pg';
import { PrismClient, type Started } from '../../../src/client/prism-client';
import { PAYLOAD_CONVERTER, PREBUILT_BUNDLE } from '../../../src/runtime/workflow-bundle';
import type { OutboxEvent } from '../../../src/workflows/cdc/outbox';
import { MAX_UNMARKED, type OutboxPipelineStats } from '../../../src/workflows/cdc/outbox-pipeline';
import { formatStatus } from '../../../src/cli/commands/cdc';
import { payloadConverter } from '../../../src/common/payload-converter';
import type { PollOutboxResult } from '../../../src/workflows/cdc/activity-io';
import type { CdcStatus } from '../../../src/workflows/cdc/logic';
import { CdcTestConsumer } from '../../helpers/cdc-kafka';
import { uniqueName } from '../../helpers/env';
import { startWorker, waitFor, type WorkerProcess } from '../../helpers/worker-process';
import { cdcName, cdcWorkerConfig, pgClient } from './setup';
import { pipelineStatus } from '../../../src/client/cdc';

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
    const status = await pipelineStatus(run.handle);
    assert.equal(status.totals.eventsDelivered, 6);
    await run.handle.signal('stop');
    assert.equal(((await run.handle.result()) as CdcStatus).state, 'stopped');
    assert.equal(consumer.records.length, 6, 'each row delivered once');

    // The recorded history (pipelined outbox mode, with its patch marker) replays with the bundle.
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: PREBUILT_BUNDLE }, dataConverter: { payloadConverterPath: PAYLOAD_CONVERTER } },
      await run.handle.fetchHistory(),
    );
  });

  it('polls the next batch while one is delivered, keeps order per aggregate over many batches', async () => {
    // 60 rows for 3 aggregates in one transaction: 15 batches of 4, all there from the start.
    const keys = ['m-1', 'm-2', 'm-3'];
    await pg.query('BEGIN');
    for (let seq = 0; seq < 60; seq++) await insert('order', keys[seq % 3]!, 'Step', { seq });
    await pg.query('COMMIT');
    const seen = consumer.records.length;
    const run = await client.start(
      'cdcPipelineWorkflow',
      [
        {
          pipeline: cdcName('obmany'),
          topicPrefix: pipeline,
          mode: 'outbox',
          outbox: { table: `public.${table}` },
          idleWaitMs: 300,
          batchSize: 4,
        },
      ],
      { pattern: 'cdc' },
    );
    runs.push(run);
    await consumer.waitForCount(seen + 60);
    await waitFor('every row marked published', async () => {
      const r = await pg.query(`SELECT count(*)::int AS n FROM ${table} WHERE published_at IS NULL`);
      return (r.rows[0] as { n: number }).n === 0;
    });
    const mine = consumer.records.slice(seen);
    for (const key of keys) {
      const seqs = mine
        .filter((r) => r.key === key)
        .map((r) => (r.body as unknown as { payload: { seq: number } }).payload.seq);
      const expected = Array.from({ length: 60 }, (_, i) => i).filter((i) => keys[i % 3] === key);
      assert.deepEqual(seqs, expected, `order of ${key}`);
    }
    assert.equal(new Set(mine.map((r) => r.id)).size, 60, 'each row delivered once');

    const stats = await run.handle.query<OutboxPipelineStats>('outboxPipeline');
    process.stdout.write(`# outbox pipeline: ${JSON.stringify(stats)}\n`);
    assert.ok(stats.pollsAhead > 0, 'a batch was polled while an earlier one was still being delivered');
    assert.ok(stats.maxUnmarked >= 1 && stats.maxUnmarked <= MAX_UNMARKED, 'polled-but-unmarked batches stay bounded');
    const status = await pipelineStatus(run.handle);
    assert.equal(status.totals.eventsDelivered, 60);
    assert.ok(status.totals.batches >= 15);

    await run.handle.executeUpdate('control', { args: ['stop'] });
    assert.equal(((await run.handle.result()) as CdcStatus).state, 'stopped');
    assert.equal(consumer.records.length, seen + 60, 'nothing delivered twice after draining');
  });

  it('drains what it polled before continuing as new: every row once, all marked', async () => {
    await pg.query('BEGIN');
    for (let seq = 0; seq < 30; seq++) await insert('customer', `can-${seq % 2}`, 'Step', { seq });
    await pg.query('COMMIT');
    const seen = consumer.records.length;
    const run = await client.start(
      'cdcPipelineWorkflow',
      [
        {
          pipeline: cdcName('obcan'),
          topicPrefix: pipeline,
          mode: 'outbox',
          outbox: { table: `public.${table}` },
          idleWaitMs: 300,
          batchSize: 4,
          maxBatchesPerRun: 3,
        },
      ],
      { pattern: 'cdc' },
    );
    runs.push(run);
    await consumer.waitForCount(seen + 30);
    await waitFor('every row marked published', async () => {
      const r = await pg.query(`SELECT count(*)::int AS n FROM ${table} WHERE published_at IS NULL`);
      return (r.rows[0] as { n: number }).n === 0;
    });
    const status = await pipelineStatus(run.handle);
    assert.ok(status.run >= 3, `continued as new (run ${status.run})`);
    assert.equal(status.totals.eventsDelivered, 30, 'totals carried across runs');
    const mine = consumer.records.slice(seen);
    assert.equal(new Set(mine.map((r) => r.id)).size, 30);
    assert.equal(mine.length, 30, 'no row polled in one run and again in the next');
    for (const key of ['can-0', 'can-1']) {
      const seqs = mine
        .filter((r) => r.key === key)
        .map((r) => (r.body as unknown as { payload: { seq: number } }).payload.seq);
      assert.deepEqual(
        seqs,
        [...seqs].sort((a, b) => a - b),
        `order of ${key}`,
      );
    }
    await run.handle.signal('stop');
    assert.equal(((await run.handle.result()) as CdcStatus).state, 'stopped');
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

  it('reports its lag: the unpublished rows and the age of the oldest', async () => {
    const own = `outbox_lag_${pipeline}`;
    await pg.query(`CREATE TABLE public.${own} (LIKE public.${table} INCLUDING ALL)`);
    try {
      // Five rows an hour old, then a pipeline polling two at a time.
      await pg.query(
        `INSERT INTO public.${own} (aggregate_type, aggregate_id, event_type, payload, created_at)
         SELECT 'order', 'lag-' || g, 'Old', '{}', now() - interval '1 hour' + g * interval '1 ms'
         FROM generate_series(1, 5) g`,
      );
      const oldest = (
        await pg.query<{ at: Date }>(`SELECT min(created_at) AS at FROM public.${own}`)
      ).rows[0]!.at.toISOString();
      const run = await client.start(
        'cdcPipelineWorkflow',
        [
          {
            pipeline: cdcName('oblag'),
            topicPrefix: pipeline,
            mode: 'outbox',
            outbox: { table: `public.${own}` },
            idleWaitMs: 300,
            batchSize: 2,
          },
        ],
        { pattern: 'cdc' },
      );
      runs.push(run);
      // Caught up: an empty poll reports no backlog.
      const status = await waitFor('the backlog reported as gone', async () => {
        // Until the first workflow task ran, the query has no handler yet.
        const s = await pipelineStatus(run.handle).catch(() => null);
        return s && s.totals.eventsDelivered >= 5 && s.outboxLag?.unpublished === 0 ? s : null;
      });
      assert.deepEqual(status.outboxLag, { unpublished: 0, oldestUnpublishedAt: null, oldestAgeSeconds: 0 });
      assert.match(formatStatus(status).join('\n'), /outbox lag: {2}0 unpublished, oldest 0\.0 s/);
      // The first poll saw the whole backlog, its oldest row an hour old.
      const polls = await activityResults<PollOutboxResult>(run, 'cdc.source.pollOutbox');
      const first = polls[0]!.lag!;
      assert.equal(first.unpublished, 5);
      assert.equal(first.oldestUnpublishedAt, oldest);
      assert.ok(first.oldestAgeSeconds >= 3600, `oldest ${first.oldestAgeSeconds} s`);
    } finally {
      await pg.query(`DROP TABLE IF EXISTS public.${own}`);
    }
  });
});

/** The results of a workflow's completed activities of one type, in order. */
async function activityResults<T>(run: Started, activityType: string): Promise<T[]> {
  const history = await run.handle.fetchHistory();
  const types = new Map<string, string>();
  const results: T[] = [];
  for (const e of history.events ?? []) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) types.set(String(e.eventId), scheduled.activityType?.name ?? '');
    const completed = e.activityTaskCompletedEventAttributes;
    if (completed && types.get(String(completed.scheduledEventId)) === activityType) {
      const payload = completed.result?.payloads?.[0];
      if (payload) results.push(payloadConverter.fromPayload<T>(payload));
    }
  }
  return results;
}
