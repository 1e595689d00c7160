// The order example's ledger activities on the memory driver: a change applies once per id, a
// refusal is a non-retryable failure naming why, an undo of a change never applied reports
// skipped, a counter starts from a blob ledger of earlier versions, the first outcome recorded stays.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import {
  ordersActivities,
  type OrdersActivities,
  type OrdersDriver,
} from '../../../src/activities/saga/orders-activities';
import type { Driver } from '../../../src/drivers/driver';
import { memoryConfigSchema, memoryDriver } from '../../../src/drivers/memory';
import { orderKeys } from '../../../src/workflows/saga/input';
import type { SagaResult } from '../../../src/workflows/saga/run-saga';

const DAY_MS = 24 * 3_600_000;

describe('saga ledger activities', () => {
  let driver: Driver;
  let ops: OrdersDriver;
  let orders: OrdersActivities;

  before(async () => {
    driver = await memoryDriver.create(memoryConfigSchema.parse({}), { backend: 'ledger-test' });
    ops = driver as unknown as OrdersDriver;
    orders = ordersActivities(ops, DAY_MS);
  });

  after(() => driver.close());

  it('charges once per idempotency key, starting from the opening balance', async () => {
    const pay = { customer: 'a', amount: 300, openingBalance: 1000 };
    assert.deepEqual(await orders.charge('o1:charge', pay), { now: 700, applied: true });
    assert.deepEqual(await orders.charge('o1:charge', pay), { now: 700, applied: false, reason: 'duplicate' });
    assert.deepEqual(await orders.charge('o2:charge', pay), { now: 400, applied: true });
    assert.equal(await ops.balance(orderKeys.account('a')), 400);
  });

  it('refuses what the ledger refuses, as non-retryable failures of the example types', async () => {
    const refused = (type: string, message: RegExp) => (err: unknown) =>
      err instanceof ApplicationFailure && err.type === type && err.nonRetryable && message.test(err.message);
    await assert.rejects(
      orders.reserveStock('o1:reserve', { sku: 'none', quantity: 1 }),
      refused('OutOfStock', /unknown SKU none/),
    );
    await assert.rejects(
      orders.reserveStock('o1:reserve', { sku: 's', quantity: 11, openingStock: 10 }),
      refused('OutOfStock', /SKU s: 0 left, 11 asked/),
    );
    await orders.reserveStock('o2:reserve', { sku: 's', quantity: 4, openingStock: 10 });
    await assert.rejects(
      orders.reserveStock('o3:reserve', { sku: 's', quantity: 7 }),
      refused('OutOfStock', /SKU s: 6 left, 7 asked/),
    );
    await assert.rejects(
      orders.charge('o1:charge', { customer: 'b', amount: 5, openingBalance: 4 }),
      refused('PaymentDeclined', /balance too low/),
    );
    await assert.rejects(
      orders.charge('o1:charge', { customer: 'b', amount: 0, openingBalance: 4 }),
      /amount must be a positive integer/,
    );
  });

  it('an undo of a change never applied is skipped with the reason; after it, it applies once', async () => {
    const stock = { sku: 'u', quantity: 2, openingStock: 10 };
    const skipped = await orders.releaseStock('o1:reserve', stock);
    assert.equal(skipped.applied, false);
    assert.match(skipped.skipped ?? '', /nothing to undo: o1:reserve:reserveStock was never applied to saga:stock:u/);
    await orders.reserveStock('o1:reserve', stock);
    assert.deepEqual(await orders.releaseStock('o1:reserve', stock), { now: 10, applied: true });
    assert.deepEqual(await orders.releaseStock('o1:reserve', stock), { now: 10, applied: false, reason: 'duplicate' });
  });

  it('a counter starts from the blob ledger an earlier version kept at the key', async () => {
    const key = orderKeys.account('legacy');
    await ops.set(key, new TextEncoder().encode(JSON.stringify({ count: 250, applied: ['old:charge:charge'] })));
    assert.deepEqual(await orders.charge('n1:charge', { customer: 'legacy', amount: 50, openingBalance: 1000 }), {
      now: 200,
      applied: true,
    });
  });

  it('records the first outcome of an order and keeps it', async () => {
    const result = (status: SagaResult['status']): SagaResult => ({ sagaId: 'o9', status, steps: {}, results: {} });
    assert.equal(await orders.orderOutcome('o9'), null);
    const first = { workflowId: 'wf-1', result: result('completed') };
    assert.deepEqual(await orders.recordOrderOutcome('o9', first), first);
    assert.deepEqual(
      await orders.recordOrderOutcome('o9', { workflowId: 'wf-2', result: result('compensated') }),
      first,
    );
    assert.deepEqual(await orders.orderOutcome('o9'), first);
  });
});
