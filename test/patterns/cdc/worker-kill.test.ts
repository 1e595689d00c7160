// A worker SIGKILLed mid-stream and started again: no event is lost, and an event delivered twice
// carries the same id and the same body both times (consumers drop duplicates by id).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from 'pg';
import { PrismClient, type Started } from '../../../src/client/prism-client';
import type { CdcEvent } from '../../../src/workflows/cdc/events';
import { CdcTestConsumer } from '../../helpers/cdc-kafka';
import { uniqueName } from '../../helpers/env';
import { startWorker, waitFor, type WorkerProcess } from '../../helpers/worker-process';
import { cdcName, cdcWorkerConfig, dropCapture, pgClient } from './setup';
import { pipelineStatus } from '../../../src/client/cdc';

const ROWS = 600;

describe('cdc: worker SIGKILL mid-stream', () => {
  const taskQueue = uniqueName('cdc-kill');
  const pipeline = cdcName('kill');
  const table = `cdc_load_${pipeline}`;
  const config = cdcWorkerConfig(taskQueue, { heartbeatTimeout: '4s' });
  const workers: WorkerProcess[] = [];
  let client: PrismClient;
  let pg: Client;
  let run: Started | undefined;
  const consumer = new CdcTestConsumer();

  before(async () => {
    pg = await pgClient();
    await pg.query(`CREATE TABLE public.${table} (id int PRIMARY KEY, v int)`);
    await consumer.start([`${pipeline}.public.${table}`]);
    workers.push(await startWorker(config));
    client = await PrismClient.connect({ taskQueue });
  });

  after(async () => {
    await run?.handle.terminate('test cleanup').catch(() => undefined);
    await consumer.stop();
    await client?.close();
    for (const w of workers) await w.stop('SIGKILL');
    await dropCapture(pg, pipeline);
    await pg.query(`DROP TABLE IF EXISTS public.${table}`);
    await pg.end();
  });

  it('loses nothing across a SIGKILL and a restart', async () => {
    run = await client.start('cdcPipelineWorkflow', [{ pipeline, tables: [`public.${table}`], batchSize: 50 }], {
      pattern: 'cdc',
    });
    const handle = run.handle;
    await waitFor(
      'the capture to be ready',
      async () => (await pipelineStatus(handle).catch(() => null))?.state === 'running',
    );

    // Inserts then one update per row, 10 rows per transaction, written while the worker dies.
    const writes = (async () => {
      for (let i = 0; i < ROWS; i += 10) {
        const ids = Array.from({ length: 10 }, (_, k) => i + k);
        await pg.query(`INSERT INTO ${table} SELECT x, 0 FROM unnest($1::int[]) AS x`, [ids]);
      }
      for (let i = 0; i < ROWS; i += 10) {
        await pg.query(`UPDATE ${table} SET v = 1 WHERE id >= $1 AND id < $2`, [i, i + 10]);
      }
    })();

    await consumer.waitForCount(150);
    const killedAt = consumer.distinctIds();
    await workers[0]!.stop('SIGKILL');
    await writes;
    workers.push(await startWorker(config));
    await consumer.waitForCount(ROWS * 2, 120_000);
    await new Promise((r) => setTimeout(r, 1_000));

    const byId = new Map<string, string>();
    let duplicates = 0;
    for (const r of consumer.records) {
      const body = JSON.stringify(r.body);
      const seen = byId.get(r.id);
      if (seen !== undefined) {
        duplicates++;
        assert.equal(body, seen, `duplicate ${r.id} must be the same event`);
      } else byId.set(r.id, body);
    }
    assert.equal(byId.size, ROWS * 2, 'every change delivered');
    // Per key, after dropping duplicates: the insert, then the update.
    const perKey = new Map<string, string[]>();
    const dedup = new Set<string>();
    for (const r of consumer.records) {
      if (dedup.has(r.id)) continue;
      dedup.add(r.id);
      const e = r.body as unknown as CdcEvent;
      perKey.set(r.key, [...(perKey.get(r.key) ?? []), `${e.op}${JSON.stringify(e.after)}`]);
    }
    assert.equal(perKey.size, ROWS);
    for (const [key, ops] of perKey) {
      const id = (JSON.parse(key) as { id: number }).id;
      assert.deepEqual(ops, [`c{"id":${id},"v":0}`, `u{"id":${id},"v":1}`], `key ${key}`);
    }
    process.stdout.write(`# killed after ${killedAt} events; ${duplicates} duplicates redelivered (same ids)\n`);
  });
});
