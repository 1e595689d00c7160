// settings.idempotency_retention is never silently shorter than what Temporal keeps: a worker
// whose saga retention is below its namespace's workflow execution retention refuses to start,
// naming the setting and both durations; one at least as long starts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PrismClient } from '../../../src/client/prism-client';
import { uniqueName } from '../../helpers/env';
import { sagaWorkerConfig } from '../../helpers/saga-env';
import { runProcess, startWorker, WORKER_MAIN, writeConfig } from '../../helpers/worker-process';

describe('saga idempotency retention against the namespace', () => {
  let client: PrismClient;
  let namespaceRetentionMs: number;

  before(async () => {
    client = await PrismClient.connect({ taskQueue: uniqueName('saga-retention') });
    const described = await client.temporal.workflowService.describeNamespace({ namespace: 'default' });
    namespaceRetentionMs = Number(described.config?.workflowExecutionRetentionTtl?.seconds ?? 0) * 1000;
    assert.ok(namespaceRetentionMs > 0, 'the namespace states a workflow retention');
  });

  after(async () => {
    await client?.close();
  });

  it('refuses to start with a retention shorter than the namespace keeps workflows', async () => {
    const config = sagaWorkerConfig(uniqueName('saga-retention'), {
      settings: { idempotency_retention: Math.floor(namespaceRetentionMs / 2) },
    });
    const { code, stderr } = await runProcess([WORKER_MAIN, '--config', writeConfig(config)]);
    assert.equal(code, 1, stderr);
    assert.match(
      stderr,
      /patterns\.saga\.settings\.idempotency_retention: [\d.]+ h is shorter than the workflow retention of namespace "default"/,
    );
    assert.match(stderr, new RegExp(`set it to at least ${Math.ceil(namespaceRetentionMs / 3_600_000)}h`));
  });

  it('starts with a retention as long as the namespace keeps workflows', async () => {
    const worker = await startWorker(
      sagaWorkerConfig(uniqueName('saga-retention'), { settings: { idempotency_retention: namespaceRetentionMs } }),
    );
    assert.equal(await worker.stop(), 0);
  });
});
