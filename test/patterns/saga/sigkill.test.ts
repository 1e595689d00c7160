// A worker SIGKILLed in the middle of compensating, between "refund applied" and "refund
// reported": a restarted worker retries the refund and finishes the compensation, and every effect
// is applied once (checked in Postgres).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { PrismClient } from '../../../src/client/prism-client';
import { orderKeys } from '../../../src/workflows/saga/order-types';
import type { SagaState } from '../../../src/workflows/saga/plan';
import type { SagaResult } from '../../../src/workflows/saga/saga';
import { uniqueName } from '../../helpers/env';
import { orderInput, SagaBackends, sagaWorkerConfig } from '../../helpers/saga-env';
import { startWorker, waitFor, type WorkerProcess } from '../../helpers/worker-process';

describe('order saga: worker SIGKILL during compensation', () => {
  const taskQueue = uniqueName('saga-kill');
  const workers: WorkerProcess[] = [];
  let client: PrismClient | undefined;
  const backends = new SagaBackends();

  after(async () => {
    await client?.close();
    await backends.close();
    for (const w of workers) await w.stop('SIGKILL');
  });

  it('finishes after a restart, each effect applied once', async () => {
    workers.push(await startWorker(sagaWorkerConfig(taskQueue)));
    client = await PrismClient.connect({ taskQueue });
    const input = orderInput(
      {
        quantity: 3,
        amount: 700,
        // cache fails → compensate publish, then charge (refund applies, then pauses), then reserve.
        testFaults: { failStep: 'cache', pauseCompensation: { step: 'charge', ms: 15_000 } },
      },
      'kill',
    );
    const started = await client.start('orderSagaWorkflow', [input], { pattern: 'saga' });

    await waitFor('the refund to be applied', async () => (await backends.balance(input.customer)) === 1000, 60_000);
    const state = await started.handle.query<SagaState>('sagaStatus');
    assert.equal(state.status, 'compensating');
    assert.deepEqual(state.currentSteps, ['charge']);
    assert.equal(await backends.stock(input.sku), 7, 'the reservation is not released yet');

    await workers[0].stop('SIGKILL');
    assert.equal((await started.handle.describe()).status.name, 'RUNNING');

    workers.push(await startWorker(sagaWorkerConfig(taskQueue)));
    const result = (await started.handle.result()) as SagaResult;
    assert.equal(result.status, 'compensated');
    assert.deepEqual(
      ['reserve', 'charge', 'publish', 'cache'].map((s) => result.steps[s].status),
      ['compensated', 'compensated', 'compensated', 'compensated'],
    );

    // Applied once each, although the refund ran twice.
    assert.equal(await backends.balance(input.customer), 1000);
    assert.equal(await backends.stock(input.sku), 10);
    const account = await backends.ledger(orderKeys.account(input.customer));
    assert.deepEqual(account?.applied, [`${started.workflowId}:charge:charge`, `${started.workflowId}:charge:refund`]);
    const stock = await backends.ledger(orderKeys.stock(input.sku));
    assert.deepEqual(stock?.applied, [
      `${started.workflowId}:reserve:reserveStock`,
      `${started.workflowId}:reserve:releaseStock`,
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
