// Bad CDC configs fail clearly before any work: an unknown sink backend stops the worker at start,
// a sink without the capability the sink mode needs fails the workflow before a slot exists, and
// so do a source server without wal_level=logical (a private one) and a role without REPLICATION.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from 'pg';
import { PrismClient } from '../../../src/client/prism-client';
import { stackEnv, uniqueName } from '../../helpers/env';
import { ExtraService } from '../../helpers/extra-service';
import { startWorker, type WorkerProcess } from '../../helpers/worker-process';
import { cdcName, cdcWorkerConfig, pgClient, slotExists } from './setup';

/** Starts a pipeline on a worker whose source is `postgresUrl`; returns the failure's message. */
async function failedStart(postgresUrl: string, table: string, pipeline: string): Promise<string> {
  const taskQueue = uniqueName('cdc-bad');
  const worker = await startWorker(cdcWorkerConfig(taskQueue, { postgresUrl }));
  const client = await PrismClient.connect({ taskQueue });
  try {
    const started = await client.start('cdcPipelineWorkflow', [{ pipeline, tables: [table] }], { pattern: 'cdc' });
    let message = '';
    await assert.rejects(started.handle.result(), (err: Error) => {
      const cause = (err as { cause?: { message?: string; cause?: { message?: string } } }).cause;
      message = `${cause?.message ?? ''} ${cause?.cause?.message ?? ''}`;
      return true;
    });
    return message;
  } finally {
    await client.close();
    await worker.stop();
  }
}

/** What a failed start must not have left: no slot, no publication, the table untouched. */
async function assertNothingCreated(pg: Client, pipeline: string, table: string): Promise<void> {
  assert.equal(await slotExists(pg, pipeline), false, 'no slot');
  const pub = await pg.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [`prism_cdc_${pipeline}_pub`]);
  assert.equal(pub.rowCount, 0, 'no publication');
  const identity = await pg.query<{ r: string }>(`SELECT relreplident AS r FROM pg_class WHERE oid = $1::regclass`, [
    table,
  ]);
  assert.equal(identity.rows[0]?.r, 'd', 'replica identity unchanged');
}

describe('cdc: bad config', () => {
  it('refuses to start a worker whose sink slot names an unknown backend', async () => {
    await assert.rejects(startWorker(cdcWorkerConfig(uniqueName('cdc-bad'), { sinkBackend: 'nope' })), (err: Error) => {
      assert.match(err.message, /worker exited early \(1\)/);
      assert.match(err.message, /patterns\.cdc\.slots\.sink: unknown backend "nope"/);
      return true;
    });
  });

  describe('a sink without stream_basic', () => {
    const taskQueue = uniqueName('cdc-bad');
    let worker: WorkerProcess;
    let client: PrismClient;
    let pg: Client;

    before(async () => {
      pg = await pgClient();
      // The postgres driver offers pubsub_basic but no stream_basic.
      worker = await startWorker(cdcWorkerConfig(taskQueue, { sinkBackend: 'pg' }));
      client = await PrismClient.connect({ taskQueue });
    });

    after(async () => {
      await client?.close();
      await worker?.stop();
      await pg.end();
    });

    it('fails the workflow with CdcConfigError in stream mode, before creating a slot', async () => {
      const pipeline = cdcName('badsink');
      const started = await client.start(
        'cdcPipelineWorkflow',
        [{ pipeline, tables: ['public.whatever'], sink: 'stream' }],
        { pattern: 'cdc' },
      );
      await assert.rejects(started.handle.result(), (err: Error) => {
        const cause = (err as { cause?: { type?: string; message?: string } }).cause;
        assert.equal(cause?.type, 'CdcConfigError');
        assert.match(cause?.message ?? '', /sink backend "pg" \(driver postgres\) has no stream_basic/);
        return true;
      });
      assert.equal(await slotExists(pg, pipeline), false);
      const history = await started.handle.fetchHistory();
      assert.equal(
        (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes).length,
        0,
        'no activity ran',
      );
    });

    it('refuses bad input naming the field', async () => {
      const started = await client.start('cdcPipelineWorkflow', [{ pipeline: 'x', tables: [] }], { pattern: 'cdc' });
      await assert.rejects(started.handle.result(), (err: Error) => {
        const cause = (err as { cause?: { type?: string; message?: string } }).cause;
        assert.equal(cause?.type, 'InvalidInput');
        assert.match(cause?.message ?? '', /input\.tables/);
        return true;
      });
    });
  });

  describe('a source server with wal_level=replica', () => {
    const server = new ExtraService('postgres', 'cdc-pg-replica', {
      port: Number(process.env.PRISM_TEST_CDC_PG_REPLICA_PORT ?? 55442),
      env: { PRISM_PG_WAL_LEVEL: 'replica' },
    });
    let pg: Client;

    before(async () => {
      server.up();
      pg = await pgClient(server.url);
      await pg.query('CREATE TABLE IF NOT EXISTS public.cdc_replica_t (id int PRIMARY KEY)');
    });

    after(async () => {
      await pg?.end();
      server.down();
    });

    it('fails the start naming wal_level, before creating anything', async () => {
      const wal = await pg.query<{ w: string }>("SELECT current_setting('wal_level') AS w");
      assert.equal(wal.rows[0]!.w, 'replica', 'the private server runs with wal_level=replica');
      const pipeline = cdcName('badwal');
      const message = await failedStart(server.url, 'public.cdc_replica_t', pipeline);
      assert.match(message, /needs wal_level=logical, but the server runs with wal_level=replica/);
      await assertNothingCreated(pg, pipeline, 'public.cdc_replica_t');
    });
  });

  describe('a role without REPLICATION', () => {
    const role = `cdc_norepl_${process.pid}`;
    const table = `public.cdc_norepl_${process.pid}`;
    let pg: Client;

    before(async () => {
      pg = await pgClient();
      await pg.query(`CREATE ROLE ${role} LOGIN PASSWORD 'x' NOSUPERUSER NOREPLICATION`);
      await pg.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
      await pg.query(`ALTER TABLE ${table} OWNER TO ${role}`);
    });

    after(async () => {
      await pg.query(`DROP TABLE IF EXISTS ${table}`);
      await pg.query(`DROP ROLE IF EXISTS ${role}`);
      await pg.end();
    });

    it('fails the start naming the missing permission, before creating anything', async () => {
      const url = new URL(stackEnv.postgresUrl);
      url.username = role;
      url.password = 'x';
      const pipeline = cdcName('norepl');
      const message = await failedStart(url.toString(), table, pipeline);
      assert.match(message, new RegExp(`needs the REPLICATION attribute, but role "${role}" lacks it`));
      await assertNothingCreated(pg, pipeline, table);
    });
  });
});
