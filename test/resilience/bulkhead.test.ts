import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Bulkhead } from '../../src/resilience/bulkhead';
import type { BulkheadConfigInput } from '../../src/resilience/config';
import { BulkheadFullError } from '../../src/resilience/errors';
import { deferred, flush, resilience } from './helpers';

function setup(config: BulkheadConfigInput) {
  const changes: Array<[number, number]> = [];
  const rejections: string[] = [];
  const bulkhead = new Bulkhead({
    backend: 'pg',
    config: resilience({}, config).bulkhead,
    onChange: (inFlight, queued) => changes.push([inFlight, queued]),
    onReject: (reason) => rejections.push(reason),
  });
  return { bulkhead, changes, rejections };
}

describe('Bulkhead', () => {
  it('never runs more than capacity calls at once under load, and runs them all', async () => {
    const { bulkhead } = setup({ capacity: 4, queue: 100 });
    let running = 0;
    let peak = 0;
    const calls = Array.from({ length: 50 }, (_, i) =>
      bulkhead.execute(async () => {
        running++;
        peak = Math.max(peak, running);
        assert.ok(running <= bulkhead.inFlight && bulkhead.inFlight <= 4);
        await new Promise((r) => setTimeout(r, i % 3));
        running--;
        return i;
      }),
    );
    assert.equal(bulkhead.inFlight, 4);
    assert.equal(bulkhead.queued, 46);
    const results = await Promise.all(calls);
    assert.deepEqual(
      results,
      Array.from({ length: 50 }, (_, i) => i),
    );
    assert.equal(peak, 4);
    assert.equal(bulkhead.inFlight, 0);
    assert.equal(bulkhead.queued, 0);
  });

  it('rejects at once when every slot and queue place is taken', async () => {
    const { bulkhead, rejections } = setup({ capacity: 2, queue: 1, timeout: '5s' });
    const gate = deferred();
    const held = [1, 2, 3].map(() => bulkhead.execute(() => gate.promise));
    assert.equal(bulkhead.inFlight, 2);
    assert.equal(bulkhead.queued, 1);
    const err = await bulkhead.execute(() => Promise.resolve()).catch((e: unknown) => e);
    assert.ok(err instanceof BulkheadFullError);
    assert.equal(err.reason, 'queue-full');
    assert.equal(err.backend, 'pg');
    assert.equal(err.retryAfterMs, 5_000);
    assert.deepEqual(rejections, ['queue-full']);
    assert.equal(bulkhead.queued, 1, 'a rejected call never enters the queue');
    gate.resolve();
    await Promise.all(held);
    assert.equal(bulkhead.inFlight, 0);
  });

  it('queue 0 rejects as soon as the slots are taken', async () => {
    const { bulkhead } = setup({ capacity: 1, queue: 0 });
    const release = await bulkhead.acquire();
    await assert.rejects(bulkhead.acquire(), BulkheadFullError);
    release();
    (await bulkhead.acquire())();
  });

  it('gives up waiting after the timeout with BulkheadFullError', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { bulkhead, rejections } = setup({ capacity: 1, queue: 5, timeout: '200ms' });
    const release = await bulkhead.acquire();
    const waiting = bulkhead.acquire();
    const outcome = waiting.then(
      () => 'acquired',
      (e: unknown) => e,
    );
    assert.equal(bulkhead.queued, 1);
    t.mock.timers.tick(199);
    await flush();
    assert.equal(bulkhead.queued, 1);
    t.mock.timers.tick(1);
    const err = await outcome;
    assert.ok(err instanceof BulkheadFullError);
    assert.equal(err.reason, 'timeout');
    assert.equal(err.retryAfterMs, 200);
    assert.deepEqual(rejections, ['timeout']);
    assert.equal(bulkhead.queued, 0);
    assert.equal(bulkhead.inFlight, 1);
    release();
    assert.equal(bulkhead.inFlight, 0, 'the timed-out waiter does not get the slot');
  });

  it('hands a freed slot to the oldest waiter, ahead of newcomers', async () => {
    const { bulkhead } = setup({ capacity: 1, queue: 5 });
    const order: string[] = [];
    const first = await bulkhead.acquire();
    const a = bulkhead.acquire().then((r) => {
      order.push('a');
      return r;
    });
    const b = bulkhead.acquire().then((r) => {
      order.push('b');
      return r;
    });
    first();
    assert.equal(bulkhead.inFlight, 1, 'the slot moved to a waiter, it was not freed');
    assert.equal(bulkhead.tryAcquire(), undefined, 'a newcomer cannot take it');
    (await a)();
    (await b)();
    assert.deepEqual(order, ['a', 'b']);
    assert.equal(bulkhead.inFlight, 0);
  });

  it('an aborted waiter leaves the queue with the abort reason', async () => {
    const { bulkhead } = setup({ capacity: 1, queue: 5 });
    const release = await bulkhead.acquire();
    const controller = new AbortController();
    const waiting = bulkhead.acquire(controller.signal);
    assert.equal(bulkhead.queued, 1);
    const reason = new Error('cancelled');
    controller.abort(reason);
    await assert.rejects(waiting, (e) => e === reason);
    assert.equal(bulkhead.queued, 0);
    release();
    assert.equal(bulkhead.inFlight, 0);
    await assert.rejects(bulkhead.acquire(controller.signal), (e) => e === reason, 'already aborted');
  });

  it('releasing twice frees one slot', async () => {
    const { bulkhead } = setup({ capacity: 2, queue: 0 });
    const r1 = await bulkhead.acquire();
    await bulkhead.acquire();
    r1();
    r1();
    assert.equal(bulkhead.inFlight, 1);
  });

  it('reports exact counts on every change', async () => {
    const { bulkhead, changes } = setup({ capacity: 1, queue: 2 });
    const gate = deferred();
    const calls = [1, 2, 3].map(() => bulkhead.execute(() => gate.promise));
    gate.resolve();
    await Promise.all(calls);
    assert.deepEqual(changes, [
      [1, 0],
      [1, 1],
      [1, 2],
      [1, 1],
      [1, 0],
      [0, 0],
    ]);
  });
});
