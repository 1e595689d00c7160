// The CDC pipeline end to end: Postgres changes on two tables → workflow → Kafka, checked by a
// separate kafkajs consumer: exactly those events, in order per key, with the right before/after
// and transforms; status by query; stop-and-drop by update; and the history replays.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import type { Client } from 'pg';
import { PrismClient, type Started } from '../../../src/client/prism-client';
import { PAYLOAD_CONVERTER, PREBUILT_BUNDLE } from '../../../src/runtime/workflow-bundle';
import type { CdcEvent } from '../../../src/workflows/cdc/events';
import type { CdcStatus } from '../../../src/workflows/cdc/logic';
import { CdcTestConsumer } from '../../helpers/cdc-kafka';
import { uniqueName } from '../../helpers/env';
import { startWorker, waitFor, type WorkerProcess } from '../../helpers/worker-process';
import { cdcName, cdcWorkerConfig, dropCapture, pgClient, slotExists } from './setup';
import { pipelineStatus } from '../../../src/client/cdc';

describe('cdc: Postgres → Kafka', () => {
  const taskQueue = uniqueName('cdc');
  const pipeline = cdcName('p');
  const customers = `cdc_customers_${pipeline}`;
  const lines = `cdc_lines_${pipeline}`;
  let worker: WorkerProcess;
  let client: PrismClient;
  let pg: Client;
  const consumer = new CdcTestConsumer();

  before(async () => {
    pg = await pgClient();
    await pg.query(`CREATE TABLE public.${customers} (id int PRIMARY KEY, name text, email text)`);
    await pg.query(`CREATE TABLE public.${lines} (tenant text, id int, qty int, PRIMARY KEY (tenant, id))`);
    await consumer.start([`${pipeline}.public.${customers}`, `${pipeline}.public.${lines}`]);
    worker = await startWorker(cdcWorkerConfig(taskQueue));
    client = await PrismClient.connect({ taskQueue });
  });

  const started: Started[] = [];

  after(async () => {
    for (const s of started) await s.handle.terminate('test cleanup').catch(() => undefined);
    await consumer.stop();
    await client?.close();
    await worker?.stop();
    await dropCapture(pg, pipeline);
    await pg.query(`DROP TABLE IF EXISTS public.${customers}, public.${lines}`);
    await pg.end();
  });

  it('delivers inserts, updates and deletes on two tables, in order per key, with before/after', async () => {
    const run = await client.start(
      'cdcPipelineWorkflow',
      [
        {
          pipeline,
          tables: [`public.${customers}`, `public.${lines}`],
          transforms: [{ tables: [customers], rename: {}, drop: [], mask: ['email'] }],
        },
      ],
      { pattern: 'cdc', workflowId: `cdc-${pipeline}` },
    );
    started.push(run);
    process.stdout.write(`# ui: ${run.uiUrl}\n`);
    await waitFor('the capture to be ready', async () => {
      const s = await pipelineStatus(run.handle).catch(() => null);
      return s?.state === 'running';
    });

    await pg.query(`INSERT INTO ${customers} VALUES (1, 'Ann', 'ann@x.org'), (2, 'Bob', 'bob@x.org')`);
    await pg.query('BEGIN');
    await pg.query(`UPDATE ${customers} SET name = 'Annie' WHERE id = 1`);
    await pg.query(`INSERT INTO ${lines} VALUES ('t1', 1, 5), ('t2', 1, 7)`);
    await pg.query('COMMIT');
    await pg.query(`DELETE FROM ${customers} WHERE id = 2`);
    await pg.query(`UPDATE ${lines} SET qty = qty + 1 WHERE tenant = 't1'`);
    await pg.query(`UPDATE ${customers} SET name = 'Ann' WHERE id = 1`);
    await pg.query(`DELETE FROM ${lines} WHERE tenant = 't2'`);

    await consumer.waitForCount(9);
    // Nothing else arrives (and no event is delivered twice when no crash happened).
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(consumer.records.length, 9);

    const summary = (key: string): string[] =>
      consumer.records
        .filter((r) => r.key === key)
        .map((r) => {
          const e = r.body as unknown as CdcEvent;
          return `${e.op} ${JSON.stringify(e.before)} → ${JSON.stringify(e.after)}`;
        });
    assert.deepEqual(summary('{"id":1}'), [
      'c null → {"id":1,"name":"Ann","email":"***"}',
      'u {"id":1,"name":"Ann","email":"***"} → {"id":1,"name":"Annie","email":"***"}',
      'u {"id":1,"name":"Annie","email":"***"} → {"id":1,"name":"Ann","email":"***"}',
    ]);
    assert.deepEqual(summary('{"id":2}'), [
      'c null → {"id":2,"name":"Bob","email":"***"}',
      'd {"id":2,"name":"Bob","email":"***"} → null',
    ]);
    assert.deepEqual(summary('{"tenant":"t1","id":1}'), [
      'c null → {"tenant":"t1","id":1,"qty":5}',
      'u {"tenant":"t1","id":1,"qty":5} → {"tenant":"t1","id":1,"qty":6}',
    ]);
    assert.deepEqual(summary('{"tenant":"t2","id":1}'), [
      'c null → {"tenant":"t2","id":1,"qty":7}',
      'd {"tenant":"t2","id":1,"qty":7} → null',
    ]);
    for (const r of consumer.records) {
      const e = r.body as unknown as CdcEvent;
      assert.equal(r.id, e.id);
      assert.equal(e.id, `${e.source.lsn}:${e.source.sequence}`);
      assert.equal(r.name, `${pipeline}.public.${e.source.table}`);
      assert.equal(e.source.db, 'prism');
      assert.equal(e.source.schema, 'public');
      assert.equal(typeof e.source.txId, 'number');
    }
    // The update of customer 1 and the inserts into lines were one transaction: one txId, one LSN.
    const events = consumer.records.map((r) => r.body as unknown as CdcEvent);
    const update = events.find((e) => e.op === 'u' && e.after?.name === 'Annie')!;
    const sameTx = events.filter((e) => e.source.txId === update.source.txId);
    assert.deepEqual(sameTx.map((e) => e.source.sequence).sort(), [1, 2, 3]);
    assert.ok(sameTx.every((e) => e.source.lsn === update.source.lsn));

    const status = await waitFor('status to count every event', async () => {
      const s = await pipelineStatus(run.handle);
      return s.totals.eventsDelivered >= 9 ? s : null;
    });
    assert.equal(status.state, 'running');
    assert.match(status.lastLsn ?? '', /^[0-9A-F]+\/[0-9A-F]+/);
    assert.equal(typeof status.lagBytes, 'number');
    process.stdout.write(`# status: ${JSON.stringify(status)}\n`);

    const metrics = await (await fetch(`http://127.0.0.1:${worker.httpPort}/metrics`)).text();
    // Served from prom-client's default registry, which the worker's /metrics includes.
    assert.match(metrics, new RegExp(`prism_cdc_events_total\\{[^}]*pipeline="${pipeline}"[^}]*\\} [1-9]`));
    assert.match(metrics, new RegExp(`prism_cdc_lag_bytes\\{pipeline="${pipeline}"\\} \\d+`));
    assert.match(metrics, new RegExp(`prism_cdc_lag_seconds\\{pipeline="${pipeline}"\\} [\\d.]+`));

    // Pause: changes wait; resume: they flow. Paused (not pausing) means the round in flight has
    // returned: nothing is delivered from then on.
    await run.handle.signal('pause');
    await waitFor('paused', async () => (await pipelineStatus(run.handle)).state === 'paused');
    const seen = consumer.records.length;
    await pg.query(`INSERT INTO ${customers} VALUES (3, 'Cy', 'cy@x.org')`);
    await new Promise((r) => setTimeout(r, 2_000));
    assert.equal(consumer.records.length, seen, 'nothing is delivered while paused');
    await run.handle.signal('resume');
    await consumer.waitForCount(10);

    // Stop and drop by update: the workflow finishes and the slot is gone.
    await run.handle.executeUpdate('control', { args: ['drop'] });
    const final = (await run.handle.result()) as CdcStatus;
    assert.equal(final.state, 'stopped');
    assert.equal(final.totals.eventsDelivered, 10);
    assert.equal(await slotExists(pg, pipeline), false);

    // The recorded history replays with the bundled workflow code.
    const history = await run.handle.fetchHistory();
    await Worker.runReplayHistory(
      {
        workflowBundle: { codePath: PREBUILT_BUNDLE },
        dataConverter: { payloadConverterPath: PAYLOAD_CONVERTER },
      },
      history,
    );
  });

  it('fails before any work on a missing table, naming it', async () => {
    const other = cdcName('missing');
    const run = await client.start(
      'cdcPipelineWorkflow',
      [{ pipeline: other, tables: [`public.${customers}`, 'public.no_such_table_cdc'] }],
      { pattern: 'cdc' },
    );
    await assert.rejects(run.handle.result(), (err: Error) => {
      const cause = (err as { cause?: { cause?: { type?: string; message?: string } } }).cause?.cause;
      assert.equal(cause?.type, 'DriverNotFound');
      assert.match(cause?.message ?? '', /no_such_table_cdc/);
      return true;
    });
    assert.equal(await slotExists(pg, other), false, 'no slot was created');
  });
});
