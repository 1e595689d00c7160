// FanOutPool outside any workflow: items submitted page by page share one set of `concurrency`
// lanes, submit() holds the producer back while every lane is busy, batch numbering continues
// across submissions, failures are collected with their items, and the start order is a pure
// function of the completion order (what makes it replay in a workflow).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FanOutPool, fanOut } from '../../src/workflows/primitives';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A batch call whose completion the test controls: settle(i) resolves (or rejects) batch i. */
function controlled() {
  const started: { batch: number; offset: number; items: number[] }[] = [];
  const pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  const run = (items: number[], ctx: { batch: number; offset: number }) => {
    started.push({ ...ctx, items });
    return new Promise<void>((resolve, reject) => pending.set(ctx.batch, { resolve, reject }));
  };
  const settle = async (batch: number, error?: Error) => {
    const p = pending.get(batch)!;
    pending.delete(batch);
    if (error) p.reject(error);
    else p.resolve();
    await tick();
  };
  return { run, started, pending, settle };
}

describe('FanOutPool', () => {
  it('shares `concurrency` lanes across submissions and holds submit() back while they are busy', async () => {
    const c = controlled();
    const pool = new FanOutPool<number>(c.run, { batchSize: 2, concurrency: 3 });
    // Page 1: 5 items → 3 batches, all start at once; submit resolves once the last has started.
    await pool.submit([0, 1, 2, 3, 4]);
    assert.equal(pool.inFlight, 3);
    // Page 2: 4 items → 2 batches, but no lane is free: submit waits.
    let page2Submitted = false;
    const page2 = pool.submit([5, 6, 7, 8]).then(() => (page2Submitted = true));
    await tick();
    assert.equal(c.started.length, 3, 'nothing more starts while 3 are in flight');
    assert.equal(page2Submitted, false);
    await c.settle(1);
    assert.equal(c.started.length, 4, 'a freed lane takes the next batch at once');
    assert.equal(page2Submitted, false, 'one batch of page 2 still waits for a lane');
    await c.settle(0);
    await page2;
    assert.equal(pool.inFlight, 3);
    // Numbering and offsets run on across pages.
    assert.deepEqual(c.started, [
      { batch: 0, offset: 0, items: [0, 1] },
      { batch: 1, offset: 2, items: [2, 3] },
      { batch: 2, offset: 4, items: [4] },
      { batch: 3, offset: 5, items: [5, 6] },
      { batch: 4, offset: 7, items: [7, 8] },
    ]);
    for (const b of [2, 3, 4]) await c.settle(b);
    const summary = await pool.drain();
    assert.deepEqual(summary, { failures: [], succeeded: 9, failed: 0, batches: 5 });
    assert.equal(pool.maxInFlight, 3);
  });

  it('drain() waits for every started batch and collects failures with their items; the pool stays usable', async () => {
    const c = controlled();
    const pool = new FanOutPool<number>(c.run, { batchSize: 2, concurrency: 2 });
    await pool.submit([1, 2, 3]);
    let drained = false;
    const draining = pool.drain().then((s) => ((drained = true), s));
    await c.settle(1, new Error('backend said no'));
    assert.equal(drained, false, 'batch 0 is still running');
    await c.settle(0);
    const summary = await draining;
    assert.equal(summary.succeeded, 2);
    assert.equal(summary.failed, 1);
    assert.deepEqual(
      summary.failures.map((f) => ({ batch: f.batch, offset: f.offset, items: f.items, message: f.message })),
      [{ batch: 1, offset: 2, items: [3], message: 'backend said no' }],
    );
    await pool.submit([4]);
    await c.settle(2);
    const again = await pool.drain();
    assert.deepEqual(
      { succeeded: again.succeeded, failed: again.failed, batches: again.batches },
      { succeeded: 3, failed: 1, batches: 3 },
    );
  });

  it('starts batches in an order decided by completions alone (same completions, same starts)', async () => {
    const order = async (): Promise<number[]> => {
      const c = controlled();
      const pool = new FanOutPool<number>(c.run, { batchSize: 1, concurrency: 2 });
      const feeding = (async () => {
        for (let page = 0; page < 3; page++) await pool.submit([page * 2, page * 2 + 1]);
      })();
      // A fixed completion schedule: always the newest running batch first.
      while (c.started.length < 6 || c.pending.size > 0) {
        await tick();
        const newest = Math.max(...c.pending.keys());
        if (Number.isFinite(newest)) await c.settle(newest);
      }
      await feeding;
      await pool.drain();
      return c.started.map((s) => s.items[0]);
    };
    const first = await order();
    assert.deepEqual(await order(), first);
    assert.deepEqual([...first].sort(), [0, 1, 2, 3, 4, 5]);
  });

  it('refuses bad options at once, and an empty submission starts nothing', async () => {
    assert.throws(
      () => new FanOutPool(async () => undefined, { batchSize: 0, concurrency: 1 }),
      /batchSize must be a positive integer/,
    );
    assert.throws(
      () => new FanOutPool(async () => undefined, { batchSize: 1, concurrency: 1001 }),
      /concurrency must be at most 1000/,
    );
    const pool = new FanOutPool<number>(async () => assert.fail('no batch expected'), { batchSize: 2, concurrency: 2 });
    await pool.submit([]);
    assert.deepEqual(await pool.drain(), { failures: [], succeeded: 0, failed: 0, batches: 0 });
  });

  it('fanOut runs on the pool: results in input order, the cap held', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const result = await fanOut(
      Array.from({ length: 10 }, (_, i) => i),
      async (batch, { batch: index }) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        for (let t = 0; t < 5 - index; t++) await tick();
        inFlight--;
        return batch.map((n) => -n);
      },
      { batchSize: 3, concurrency: 2 },
    );
    assert.equal(maxInFlight, 2);
    assert.deepEqual(
      result.results,
      Array.from({ length: 10 }, (_, i) => -i),
    );
  });
});
