// A user's scenario, on Postgres and on Redis as the orders backend: order X (1,000 cents)
// completes, 600 other orders of the same customer complete, then the client re-submits X with
// the same input under a new workflow id (as after a timeout). The customer is not charged again
// and the re-submission returns the first outcome. Then X's charge is retried with its own change
// id, 600 changes later, directly and by a whole saga run again without the outcome record: it
// applies nothing. Balances are read from the backend itself.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ordersActivities, type OrdersDriver } from '../../../src/activities/saga/orders-activities';
import type { Driver } from '../../../src/drivers/driver';
import { postgresDriver } from '../../../src/drivers/postgres';
import { redisDriver } from '../../../src/drivers/redis';
import { PrismClient } from '../../../src/client/prism-client';
import type { OrderSagaInput } from '../../../src/workflows/saga/input';
import { orderKeys } from '../../../src/workflows/saga/input';
import type { OrderSagaResult } from '../../../src/workflows/saga/workflow';
import { stackEnv, uniqueName } from '../../helpers/env';
import { SAGA_SCHEMA, SagaBackends, sagaWorkerConfig } from '../../helpers/saga-env';
import { startWorker, type WorkerProcess } from '../../helpers/worker-process';

const OTHER_ORDERS = 600;
/** Orders in flight at once: enough to make one customer's ledger hot, little enough for the dev server. */
const IN_FLIGHT = 25;
const OPENING_BALANCE = 10_000_000;
const DAY_MS = 24 * 3_600_000;

async function ordersDriver(backend: 'pg' | 'redis'): Promise<Driver> {
  if (backend === 'redis') {
    return redisDriver.create(redisDriver.configSchema.parse({ url: stackEnv.redisUrl }), { backend: 'resubmit' });
  }
  return postgresDriver.create(postgresDriver.configSchema.parse({ url: stackEnv.postgresUrl, schema: SAGA_SCHEMA }), {
    backend: 'resubmit',
  });
}

/** Runs every item through run, at most limit at a time. */
async function inBatches<T>(items: T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await run(items[next++]);
  };
  await Promise.all(Array.from({ length: limit }, lane));
}

for (const backend of ['pg', 'redis'] as const) {
  describe(`re-submitting an order after ${OTHER_ORDERS} others (orders on ${backend})`, () => {
    const taskQueue = uniqueName(`saga-resubmit-${backend}`);
    let worker: WorkerProcess;
    let client: PrismClient;
    let backends: SagaBackends;
    let driver: Driver;
    const customer = uniqueName('cust');
    const sku = uniqueName('sku');
    const base = {
      sku,
      quantity: 1,
      customer,
      topic: uniqueName('saga-resubmit'),
      cache: false,
      openingStock: 100_000,
      openingBalance: OPENING_BALANCE,
    };
    const orderX: OrderSagaInput = { ...base, orderId: uniqueName('order-x'), amount: 1000 };
    let first: { workflowId: string; result: OrderSagaResult };

    const run = async (input: OrderSagaInput): Promise<{ workflowId: string; result: OrderSagaResult }> => {
      const started = await client.start('orderSagaWorkflow', [input], { pattern: 'saga' });
      return { workflowId: started.workflowId, result: (await started.handle.result()) as OrderSagaResult };
    };

    before(async () => {
      // Events on Redis pub/sub: this test is about the ledger, not about 600 Kafka publishes.
      worker = await startWorker(sagaWorkerConfig(taskQueue, { orders: backend, events: 'redis' }));
      client = await PrismClient.connect({ taskQueue });
      backends = new SagaBackends(backend);
      driver = await ordersDriver(backend);
    });

    after(async () => {
      await client?.close();
      await backends?.close();
      await driver?.close();
      await worker?.stop();
    });

    it(`order X completes, ${OTHER_ORDERS} other orders of the customer complete`, async () => {
      const started = Date.now();
      first = await run(orderX);
      assert.equal(first.result.status, 'completed');
      const others = Array.from({ length: OTHER_ORDERS }, (_, i) => ({
        ...base,
        orderId: `${orderX.orderId}-other-${i}`,
        amount: 100,
      }));
      let completed = 0;
      await inBatches(others, IN_FLIGHT, async (input) => {
        const { result } = await run(input);
        assert.equal(result.status, 'completed', input.orderId);
        completed++;
      });
      assert.equal(completed, OTHER_ORDERS);
      assert.equal(await backends.balance(customer), OPENING_BALANCE - 1000 - OTHER_ORDERS * 100);
      assert.equal(await backends.stock(sku), 100_000 - 1 - OTHER_ORDERS);
      process.stdout.write(
        `# ${backend}: ${OTHER_ORDERS + 1} sagas in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
      );
    });

    it('X re-submitted under a new workflow id: the first outcome, the customer not charged again', async () => {
      const balance = await backends.balance(customer);
      const again = await run(orderX);
      assert.notEqual(again.workflowId, first.workflowId);
      assert.equal(again.result.duplicateOf, first.workflowId);
      assert.equal(again.result.status, 'completed');
      assert.deepEqual(again.result.steps, first.result.steps);
      assert.equal(await backends.balance(customer), balance);
      assert.equal(balance, OPENING_BALANCE - 1000 - OTHER_ORDERS * 100);
    });

    it(`X's charge retried with its change id after ${OTHER_ORDERS} other changes applies nothing`, async () => {
      const balance = await backends.balance(customer);
      const orders = ordersActivities(driver as unknown as OrdersDriver, DAY_MS);
      const retried = await orders.charge(`${orderX.orderId}:charge`, { customer, amount: 1000 });
      assert.deepEqual(retried, { now: balance, applied: false, reason: 'duplicate' });
      // A whole saga again, without the outcome record: every change of X is still remembered.
      assert.equal(await (driver as unknown as OrdersDriver).delete(orderKeys.outcome(orderX.orderId)), true);
      const rerun = await run(orderX);
      assert.equal(rerun.result.status, 'completed');
      assert.equal(rerun.result.duplicateOf, undefined);
      assert.deepEqual(rerun.result.results.charge, { now: balance, applied: false, reason: 'duplicate' });
      assert.equal(await backends.balance(customer), balance);
      assert.equal(await backends.stock(sku), 100_000 - 1 - OTHER_ORDERS);
    });
  });
}
