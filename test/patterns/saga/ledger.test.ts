// The order example's ledgers on the memory driver: a change applies once per id, concurrent
// changes all land (compare-and-set), an undo applies only after what it undoes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { applyOnce } from '../../../src/activities/saga/ledger';
import type { KeyValueCas } from '../../../src/drivers/capabilities';
import type { Driver } from '../../../src/drivers/driver';
import { memoryConfigSchema, memoryDriver } from '../../../src/drivers/memory';

describe('saga ledgers', () => {
  let driver: Driver;
  let kv: KeyValueCas;

  before(async () => {
    driver = await memoryDriver.create(memoryConfigSchema.parse({}), { backend: 'ledger-test' });
    kv = driver as unknown as KeyValueCas;
  });

  after(() => driver.close());

  it('applies a change once per id', async () => {
    const dec = (n: number | null): number => (n ?? 10) - 3;
    assert.deepEqual(await applyOnce(kv, 'stock:a', 'k1:reserve', dec), { now: 7, applied: true });
    assert.deepEqual(await applyOnce(kv, 'stock:a', 'k1:reserve', dec), { now: 7, applied: false });
    assert.deepEqual(await applyOnce(kv, 'stock:a', 'k2:reserve', dec), { now: 4, applied: true });
  });

  it('lands every one of many concurrent changes', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_v, i) => applyOnce(kv, 'stock:b', `k${i}:reserve`, (n) => (n ?? 100) - 1)),
    );
    assert.deepEqual(await applyOnce(kv, 'stock:b', 'probe', (n) => n ?? -1), { now: 80, applied: true });
  });

  it('an undo applies only after the change it undoes', async () => {
    const inc = (n: number | null): number => (n ?? 0) + 5;
    assert.deepEqual(await applyOnce(kv, 'acct:c', 'k1:refund', inc, 'k1:charge'), { now: 0, applied: false });
    await applyOnce(kv, 'acct:c', 'k1:charge', (n) => (n ?? 50) - 5);
    assert.deepEqual(await applyOnce(kv, 'acct:c', 'k1:refund', inc, 'k1:charge'), { now: 50, applied: true });
    assert.deepEqual(await applyOnce(kv, 'acct:c', 'k1:refund', inc, 'k1:charge'), { now: 50, applied: false });
  });

  it('a refused change leaves the ledger as it was', async () => {
    await assert.rejects(
      applyOnce(kv, 'stock:d', 'k1:reserve', () => {
        throw new Error('OutOfStock');
      }),
      /OutOfStock/,
    );
    assert.equal(await kv.getVersioned('stock:d'), null);
  });
});
