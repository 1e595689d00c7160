// The source Postgres restarted mid-stream (a private server, never the shared one): the pipeline
// reconnects by itself and every change written before, during and after the restart arrives.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'pg';
import { PrismClient, type Started } from '../../../src/client/prism-client';
import { CdcTestConsumer } from '../../helpers/cdc-kafka';
import { uniqueName } from '../../helpers/env';
import { ExtraService } from '../../helpers/extra-service';
import { startWorker, waitFor, type WorkerProcess } from '../../helpers/worker-process';
import { cdcName, cdcWorkerConfig } from './setup';
import { pipelineStatus } from '../../../src/client/cdc';

describe('cdc: source Postgres restarted', () => {
  const server = new ExtraService('postgres', 'cdc-pg-restart', {
    port: Number(process.env.PRISM_TEST_CDC_PG_PORT ?? 55441),
  });
  const taskQueue = uniqueName('cdc-pgrestart');
  const pipeline = cdcName('pgrestart');
  const table = `cdc_restart_${pipeline}`;
  let worker: WorkerProcess;
  let client: PrismClient;
  let pool: Pool;
  let run: Started | undefined;
  const consumer = new CdcTestConsumer();

  before(async () => {
    server.up();
    pool = new Pool({ connectionString: server.url, max: 2 });
    pool.on('error', () => undefined);
    await pool.query(`CREATE TABLE public.${table} (id int PRIMARY KEY)`);
    await consumer.start([`${pipeline}.public.${table}`]);
    worker = await startWorker(cdcWorkerConfig(taskQueue, { postgresUrl: server.url, heartbeatTimeout: '5s' }));
    client = await PrismClient.connect({ taskQueue });
  });

  after(async () => {
    await run?.handle.terminate('test cleanup').catch(() => undefined);
    await consumer.stop().catch(() => undefined);
    await client?.close();
    await worker?.stop();
    await pool
      ?.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [
        `prism_cdc_${pipeline}`,
      ])
      .catch(() => undefined);
    await pool?.query(`DROP TABLE IF EXISTS public.${table}`).catch(() => undefined);
    await pool?.end();
    server.down();
  });

  it('reconnects by itself and delivers every change', async () => {
    run = await client.start('cdcPipelineWorkflow', [{ pipeline, tables: [`public.${table}`], batchSize: 100 }], {
      pattern: 'cdc',
    });
    const handle = run.handle;
    await waitFor('running', async () => (await pipelineStatus(handle).catch(() => null))?.state === 'running');

    // One row per transaction, retried until the server takes it (a lost commit ack shows as a duplicate).
    let written = 0;
    let failedWrites = 0;
    let writing = true;
    const writer = (async () => {
      while (writing) {
        const id = written + 1;
        try {
          await pool.query(`INSERT INTO ${table} VALUES ($1)`, [id]);
          written = id;
        } catch (err) {
          if ((err as { code?: string }).code === '23505') written = id;
          else failedWrites++;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    await consumer.waitForCount(50, 60_000);
    await server.stopAsync();
    await new Promise((r) => setTimeout(r, 2_000));
    await server.startAsync();
    const restartedAt = written;
    await waitFor('writes after the restart', async () => written > restartedAt + 100, 60_000);
    writing = false;
    await writer;
    await consumer.waitForCount(written, 120_000);
    const ids = new Set(consumer.records.map((r) => (JSON.parse(r.key) as { id: number }).id));
    for (let i = 1; i <= written; i++) assert.ok(ids.has(i), `row ${i} delivered`);
    assert.ok(failedWrites > 0, 'the restart really interrupted the writes');
    const status = await waitFor('the status to catch up', async () => {
      const s = await pipelineStatus(handle);
      return s.totals.eventsDelivered >= written ? s : null;
    });
    assert.equal(status.state, 'running');
    process.stdout.write(`# ${written} rows, ${failedWrites} writes refused during the restart, all delivered\n`);
  });
});
