// The pure parts of the workflow concurrency primitives, outside any workflow: batching, the
// concurrency cap, result order, collected failures, bounded buffers and backpressure.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BoundedChannel, fanOut, Pipeline, toBatches } from '../../src/workflows/primitives';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A call whose completion the test decides: resolves after `turns` event-loop turns. */
async function after<T>(turns: number, value: T): Promise<T> {
  for (let i = 0; i < turns; i++) await tick();
  return value;
}

describe('toBatches', () => {
  it('splits into consecutive batches with their offsets, the last one short', () => {
    assert.deepEqual(toBatches([1, 2, 3, 4, 5], 2), [
      { index: 0, offset: 0, items: [1, 2] },
      { index: 1, offset: 2, items: [3, 4] },
      { index: 2, offset: 4, items: [5] },
    ]);
    assert.deepEqual(toBatches([], 3), []);
  });

  it('refuses a batch size that is not a positive integer', () => {
    assert.throws(() => toBatches([1], 0), /batchSize must be a positive integer/);
    assert.throws(() => toBatches([1], 1.5), /batchSize/);
  });
});

describe('fanOut', () => {
  it('never runs more than `concurrency` batches at once and returns results in input order', async () => {
    const items = Array.from({ length: 23 }, (_, i) => i);
    let inFlight = 0;
    let maxInFlight = 0;
    const sizes: number[] = [];
    const result = await fanOut(
      items,
      async (batch, { batch: index }) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        sizes.push(batch.length);
        // Later batches finish sooner, so completion order differs from input order.
        const out = await after(
          10 - (index % 5),
          batch.map((n) => n * 10),
        );
        inFlight--;
        return out;
      },
      { batchSize: 4, concurrency: 3 },
    );
    assert.equal(maxInFlight, 3);
    assert.deepEqual(sizes.sort(), [3, 4, 4, 4, 4, 4]);
    assert.deepEqual(
      result.results,
      items.map((n) => n * 10),
    );
    assert.deepEqual(
      { succeeded: result.succeeded, failed: result.failed, batches: result.batches },
      {
        succeeded: 23,
        failed: 0,
        batches: 6,
      },
    );
  });

  it('collects failed batches with their items and keeps the other results', async () => {
    const items = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const result = await fanOut(
      items,
      async (batch) => {
        await tick();
        if (batch.includes('c') || batch.includes('g')) throw new Error(`cannot take ${batch.join(',')}`);
        return batch.map((s) => s.toUpperCase());
      },
      { batchSize: 2, concurrency: 2 },
    );
    assert.deepEqual(result.results, ['A', 'B', undefined, undefined, 'E', 'F', undefined]);
    assert.deepEqual(
      result.failures.map((f) => ({ batch: f.batch, offset: f.offset, items: f.items, message: f.message })),
      [
        { batch: 1, offset: 2, items: ['c', 'd'], message: 'cannot take c,d' },
        { batch: 3, offset: 6, items: ['g'], message: 'cannot take g' },
      ],
    );
    assert.equal(result.succeeded, 4);
    assert.equal(result.failed, 3);
  });

  it('treats a batch returning the wrong number of results as failed', async () => {
    const result = await fanOut([1, 2, 3], async (batch) => batch.slice(1), { batchSize: 3, concurrency: 1 });
    assert.equal(result.failed, 3);
    assert.match(result.failures[0].message, /returned 2 results for 3 items/);
  });

  it('refuses bad options and handles no items', async () => {
    await assert.rejects(
      fanOut([1], async (b) => b, { batchSize: 1, concurrency: 0 }),
      /concurrency/,
    );
    await assert.rejects(
      fanOut([1], async (b) => b, { batchSize: 1, concurrency: 5000 }),
      /at most 1000/,
    );
    const empty = await fanOut([], async (b) => b, { batchSize: 2, concurrency: 2 });
    assert.deepEqual(empty, { results: [], failures: [], succeeded: 0, failed: 0, batches: 0 });
  });
});

describe('BoundedChannel', () => {
  it('makes push wait while full and pull wait while empty; close drains then ends', async () => {
    const channel = new BoundedChannel<number>(2);
    await channel.push(1);
    await channel.push(2);
    let thirdPushed = false;
    const third = channel.push(3).then(() => (thirdPushed = true));
    await tick();
    assert.equal(thirdPushed, false, 'a push into a full channel waits');
    assert.deepEqual(await channel.pull(), { done: false, value: 1 });
    await third;
    assert.equal(channel.size, 2);
    channel.close();
    assert.deepEqual(await channel.pull(), { done: false, value: 2 });
    assert.deepEqual(await channel.pull(), { done: false, value: 3 });
    assert.deepEqual(await channel.pull(), { done: true });
    await assert.rejects(channel.push(4), /closed channel/);
    assert.equal(channel.maxBuffered, 2);
  });

  it('fail() wakes waiting pullers with the error', async () => {
    const channel = new BoundedChannel<number>(1);
    const waiting = channel.pull();
    channel.fail(new Error('boom'));
    await assert.rejects(waiting, /boom/);
  });
});

describe('Pipeline', () => {
  it('runs stages in order with per-stage concurrency and keeps source order', async () => {
    const seen: string[] = [];
    const out = await Pipeline.from([1, 2, 3, 4, 5, 6, 7, 8])
      .stage('double', (n) => after(8 - n, n * 2), { concurrency: 3 })
      .stage('label', async (n, index) => `${index}:${n}`)
      .stage('record', (s) => {
        seen.push(s);
        return s;
      })
      .collect();
    assert.deepEqual(out, ['0:2', '1:4', '2:6', '3:8', '4:10', '5:12', '6:14', '7:16']);
    assert.deepEqual(seen, out);
  });

  it('applies backpressure: a slow sink holds a fast source to the buffers', async () => {
    let pulled = 0;
    let maxAhead = 0;
    let delivered = 0;
    function* source(): Generator<number> {
      for (let i = 0; i < 50; i++) {
        pulled++;
        maxAhead = Math.max(maxAhead, pulled - delivered);
        yield i;
      }
    }
    const stats = await Pipeline.from(source(), { buffer: 2 })
      .stage('fast', async (n) => n + 1, { concurrency: 2, buffer: 3 })
      .run(async () => {
        await after(3, undefined);
        delivered++;
      });
    assert.equal(stats.pulled, 50);
    assert.equal(stats.delivered, 50);
    // source buffer 2 + stage window 2 + one pending pull + stage buffer 3 + the item at the sink.
    assert.ok(maxAhead <= 2 + 2 + 1 + 3 + 1 + 1, `the source ran ${maxAhead} items ahead of the sink`);
    assert.ok(stats.sourceMaxBuffered <= 2);
    assert.ok(stats.stages[0].maxBuffered <= 3);
    assert.ok(stats.stages[0].maxInFlight <= 2);
    process.stdout.write(`# pipeline backpressure: source at most ${maxAhead} items ahead of a slow sink\n`);
  });

  it('stops at the first failure and rejects with that same error', async () => {
    const boom = new Error('stage failed on 3');
    let pulled = 0;
    async function* endless(): AsyncGenerator<number> {
      for (let i = 0; ; i++) {
        pulled++;
        yield i;
      }
    }
    await assert.rejects(
      Pipeline.from(endless())
        .stage('fail-on-3', async (n) => {
          if (n === 3) throw boom;
          return n;
        })
        .collect(),
      (err) => err === boom,
    );
    assert.ok(pulled < 20, `an endless source stops after a failure (pulled ${pulled})`);
  });

  it('handles an empty source and refuses bad options', async () => {
    assert.deepEqual(
      await Pipeline.from<number>([])
        .stage('x', (n) => n)
        .collect(),
      [],
    );
    assert.throws(() => Pipeline.from([1]).stage('x', (n) => n, { concurrency: 0 }), /x: concurrency/);
  });
});
