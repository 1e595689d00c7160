// Bad CDC configs fail clearly before any work: an unknown sink backend stops the worker at start,
// a sink without the capability the sink mode needs fails the workflow before a slot exists.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from 'pg';
import { PrismClient } from '../../../src/client/prism-client';
import { uniqueName } from '../../helpers/env';
import { startWorker, type WorkerProcess } from '../../helpers/worker-process';
import { cdcName, cdcWorkerConfig, pgClient, slotExists } from './setup';

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
});
