// settings.kafkaDirect: the deliver activity produces each batch in one request, with the row's
// key as the Kafka record key; the events are the same as through the driver.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from 'pg';
import { PrismClient, type Started } from '../../../src/client/prism-client';
import type { CdcEvent } from '../../../src/workflows/cdc/events';
import type { CdcStatus } from '../../../src/workflows/cdc/status';
import { CdcTestConsumer } from '../../helpers/cdc-kafka';
import { uniqueName } from '../../helpers/env';
import { startWorker, waitFor, type WorkerProcess } from '../../helpers/worker-process';
import { cdcName, cdcWorkerConfig, dropCapture, pgClient } from './setup';

describe('cdc: direct Kafka producer', () => {
  const taskQueue = uniqueName('cdc-direct');
  const pipeline = cdcName('kd');
  const table = `cdc_kd_${pipeline}`;
  let worker: WorkerProcess;
  let client: PrismClient;
  let pg: Client;
  let run: Started | undefined;
  const consumer = new CdcTestConsumer();

  before(async () => {
    pg = await pgClient();
    await pg.query(`CREATE TABLE public.${table} (id int PRIMARY KEY, n int)`);
    await consumer.start([`${pipeline}.public.${table}`]);
    worker = await startWorker(cdcWorkerConfig(taskQueue, { kafkaDirect: true }));
    client = await PrismClient.connect({ taskQueue });
  });

  after(async () => {
    await run?.handle.terminate('test cleanup').catch(() => undefined);
    await consumer.stop();
    await client?.close();
    await worker?.stop();
    await dropCapture(pg, pipeline);
    await pg.query(`DROP TABLE IF EXISTS public.${table}`);
    await pg.end();
  });

  it('delivers in order per key with the key as the record key', async () => {
    run = await client.start(
      'cdcPipelineWorkflow',
      [{ pipeline, tables: [`public.${table}`], idleWaitMs: 300, filter: { operations: ['c', 'u'] } }],
      { pattern: 'cdc' },
    );
    const handle = run.handle;
    await waitFor(
      'running',
      async () => (await handle.query<CdcStatus>('status').catch(() => null))?.state === 'running',
    );
    await pg.query(`INSERT INTO ${table} SELECT g, 0 FROM generate_series(1, 100) g`);
    for (let round = 1; round <= 3; round++) await pg.query(`UPDATE ${table} SET n = $1`, [round]);
    await pg.query(`DELETE FROM ${table} WHERE id > 50`); // filtered out: deletes are not wanted
    await consumer.waitForCount(400);
    const status = await waitFor('the deletes read and filtered', async () => {
      const s = await handle.query<CdcStatus>('status');
      return s.totals.filtered >= 50 ? s : null;
    });
    assert.equal(status.totals.eventsDelivered, 400);
    assert.equal(consumer.records.length, 400);
    for (const r of consumer.records) assert.equal(r.recordKey, r.key);
    const perKey = new Map<string, number[]>();
    for (const r of consumer.records) {
      const e = r.body as unknown as CdcEvent;
      perKey.set(r.key, [...(perKey.get(r.key) ?? []), e.after!.n as number]);
    }
    assert.equal(perKey.size, 100);
    for (const [key, values] of perKey) assert.deepEqual(values, [0, 1, 2, 3], `key ${key}`);
  });
});
