// A worker SIGKILLed in the middle of compensating, between "refund applied" and "refund
// reported" (the test worker's fault interceptor pauses there): a restarted worker retries the
// refund once its attempt times out and finishes the compensation, and every effect is applied
// once (checked in Postgres).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { PrismClient } from '../../../src/client/prism-client';
import { orderKeys } from '../../../src/workflows/saga/input';
import type { SagaState } from '../../../src/workflows/saga/logic';
import type { SagaResult } from '../../../src/workflows/saga/run-saga';
import { uniqueName } from '../../helpers/env';
import { writeSagaFaults } from '../../fixtures/saga-faults/interceptor';
import { orderInput, SagaBackends, sagaFaultsDir, startSagaFaultWorker } from '../../helpers/saga-env';
import { waitFor, type WorkerProcess } from '../../helpers/worker-process';

describe('order saga: worker SIGKILL during compensation', () => {
  const taskQueue = uniqueName('saga-kill');
  const workers: WorkerProcess[] = [];
  let client: PrismClient | undefined;
  const backends = new SagaBackends();
  const faultsDir = sagaFaultsDir();

  after(async () => {
    await client?.close();
    await backends.close();
    for (const w of workers) await w.stop('SIGKILL');
  });

  it('finishes after a restart, each effect applied once', async () => {
    workers.push(await startSagaFaultWorker(taskQueue, faultsDir));
    client = await PrismClient.connect({ taskQueue });
    const input = orderInput({ quantity: 3, amount: 700 }, 'kill');
    const workflowId = uniqueName('saga-kill-wf');
    // cache fails → compensate publish, then charge (refund applies, then pauses), then reserve.
    writeSagaFaults(faultsDir, workflowId, { failStep: 'cache', pauseCompensation: { step: 'charge', ms: 15_000 } });
    const started = await client.start('orderSagaWorkflow', [input], { pattern: 'saga', workflowId });

    await waitFor('the refund to be applied', async () => (await backends.balance(input.customer)) === 1000, 60_000);
    const state = await started.handle.query<SagaState>('sagaStatus');
    assert.equal(state.status, 'compensating');
    assert.deepEqual(state.currentSteps, ['charge']);
    assert.equal(await backends.stock(input.sku), 7, 'the reservation is not released yet');

    await workers[0].stop('SIGKILL');
    assert.equal((await started.handle.describe()).status.name, 'RUNNING');

    workers.push(await startSagaFaultWorker(taskQueue, faultsDir));
    const result = (await started.handle.result()) as SagaResult;
    assert.equal(result.status, 'compensated');
    assert.deepEqual(
      ['reserve', 'charge', 'publish', 'cache'].map((s) => result.steps[s].status),
      ['compensated', 'compensated', 'compensated', 'skipped'],
    );

    // Applied once each, although the refund ran twice.
    assert.equal(await backends.balance(input.customer), 1000);
    assert.equal(await backends.stock(input.sku), 10);
    assert.deepEqual(await backends.changes(orderKeys.account(input.customer)), [
      `${input.orderId}:charge:charge`,
      `${input.orderId}:charge:refund`,
    ]);
    assert.deepEqual(await backends.changes(orderKeys.stock(input.sku)), [
      `${input.orderId}:reserve:releaseStock`,
      `${input.orderId}:reserve:reserveStock`,
    ]);

    const events = (await started.handle.fetchHistory()).events ?? [];
    const refundScheduled = events.find(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'saga.orders.refund',
    );
    const refundStarted = events.find(
      (e) =>
        e.activityTaskStartedEventAttributes &&
        String(e.activityTaskStartedEventAttributes.scheduledEventId) === String(refundScheduled?.eventId),
    );
    assert.ok((refundStarted?.activityTaskStartedEventAttributes?.attempt ?? 0) >= 2, 'the refund was retried');
    process.stdout.write(`# refund attempts: ${refundStarted?.activityTaskStartedEventAttributes?.attempt}\n`);
  });
});
