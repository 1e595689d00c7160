// prism cdc start | status | pause | resume | drop against a real worker.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import type { Client } from 'pg';
import { PrismClient } from '../../../src/client/prism-client';
import { PAYLOAD_CONVERTER, PREBUILT_BUNDLE } from '../../../src/runtime/workflow-bundle';
import { uniqueName } from '../../helpers/env';
import { DIST_ROOT, runProcess, startWorker, waitFor, type WorkerProcess } from '../../helpers/worker-process';
import { cdcName, cdcWorkerConfig, dropCapture, pgClient, slotExists } from './setup';

const CLI = join(DIST_ROOT, 'src/cli/main.js');

describe('prism cdc', () => {
  const taskQueue = uniqueName('cdc-cli');
  const pipeline = cdcName('cli');
  const table = `cdc_demo_${pipeline}`;
  let worker: WorkerProcess;
  let pg: Client;
  const previousQueue = process.env.PRISM_TASK_QUEUE;

  before(async () => {
    process.env.PRISM_TASK_QUEUE = taskQueue; // inherited by the CLI processes
    pg = await pgClient();
    await pg.query(`CREATE TABLE public.${table} (id int PRIMARY KEY, msg text)`);
    worker = await startWorker(cdcWorkerConfig(taskQueue));
  });

  after(async () => {
    if (previousQueue === undefined) delete process.env.PRISM_TASK_QUEUE;
    else process.env.PRISM_TASK_QUEUE = previousQueue;
    await runProcess([CLI, 'cdc', 'drop', pipeline]).catch(() => undefined);
    await worker?.stop();
    await dropCapture(pg, pipeline);
    await pg.query(`DROP TABLE IF EXISTS public.${table}`);
    await pg.end();
  });

  const cli = async (...args: string[]) => {
    const r = await runProcess([CLI, 'cdc', ...args]);
    assert.equal(r.code, 0, `prism cdc ${args.join(' ')} failed:\n${r.stderr}${r.stdout}`);
    return r.stdout;
  };

  it('starts a pipeline, shows its lag, pauses, resumes and drops it', async () => {
    const input = JSON.stringify({ pipeline, tables: [table] });
    const out = await cli('start', '--input', input);
    assert.match(out, new RegExp(`workflow id: cdc-${pipeline}`));
    const described = JSON.parse(
      await runProcess([CLI, 'describe', `cdc-${pipeline}`, '-o', 'json']).then((r) => r.stdout),
    );
    assert.deepEqual(described.memo, { pipeline }, 'the pipeline is the execution’s business key, in its memo');
    assert.equal(described.summary, `CDC ${pipeline}: ${table} → pubsub`, 'the one line the Temporal UI shows');
    assert.match(out, new RegExp(`ui: +http://127\\.0\\.0\\.1:8233/namespaces/default/workflows/cdc-${pipeline}/`));

    await waitFor('running', async () => /state: +running/.test(await cli('status', pipeline)));
    await pg.query(`INSERT INTO ${table} SELECT g, 'hi' FROM generate_series(1, 20) g`);
    const status = await waitFor('the changes delivered', async () => {
      const s = await cli('status', pipeline);
      return /totals: +20 delivered/.test(s) ? s : null;
    });
    assert.match(status, /lag: +\d+ bytes, \d+\.\d s/);
    assert.match(status, /last lsn: +[0-9A-F]+\/[0-9A-F]+/);
    process.stdout.write(`# ${status.replace(/\n/g, '\n# ')}\n`);

    assert.match(await cli('pause', pipeline), /: paused/);
    assert.match(await cli('resume', pipeline), /: running/);
    const json = JSON.parse(await cli('status', pipeline, '-o', 'json')) as { totals: { eventsDelivered: number } };
    assert.equal(json.totals.eventsDelivered, 20);
    assert.match(await cli('drop', pipeline), /stopped \(slot and publication dropped\)/);
    assert.equal(await slotExists(pg, pipeline), false);

    // The pause went through the control update, which answered once the pause took effect: the
    // recorded history replays with the bundled workflow code.
    const client = await PrismClient.connect({ taskQueue });
    try {
      const history = await client.handle(`cdc-${pipeline}`).fetchHistory();
      await Worker.runReplayHistory(
        { workflowBundle: { codePath: PREBUILT_BUNDLE }, dataConverter: { payloadConverterPath: PAYLOAD_CONVERTER } },
        history,
      );
    } finally {
      await client.close();
    }
  });

  it('refuses a bad pipeline before starting anything', async () => {
    const r = await runProcess([CLI, 'cdc', 'start', '--input', '{"pipeline":"Bad Name","tables":[]}']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--input\.pipeline/);
    assert.match(r.stderr, /--input\.tables: logical mode needs at least one table/);
  });

  it('refuses idleWaitMs for a logical-mode pipeline, naming the field', async () => {
    const input = JSON.stringify({ pipeline: cdcName('idle'), tables: [table], idleWaitMs: 300 });
    const r = await runProcess([CLI, 'cdc', 'start', '--input', input]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--input\.idleWaitMs: removed for logical mode, which streams changes/);

    // Started without the CLI's check, the workflow refuses it before any work.
    const name = cdcName('idle');
    const client = await PrismClient.connect({ taskQueue });
    try {
      const started = await client.start(
        'cdcPipelineWorkflow',
        [{ pipeline: name, tables: [table], idleWaitMs: 300 }],
        { pattern: 'cdc' },
      );
      await assert.rejects(started.handle.result(), (err: Error) => {
        const cause = (err as { cause?: { type?: string; message?: string } }).cause;
        assert.equal(cause?.type, 'InvalidInput');
        assert.match(cause?.message ?? '', /^input\.idleWaitMs: removed for logical mode/);
        return true;
      });
      assert.equal(await slotExists(pg, name), false, 'no slot created');
    } finally {
      await client.close();
    }
  });
});
