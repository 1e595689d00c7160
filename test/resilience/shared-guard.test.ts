// Where the bulkhead's `queue` and `timeout` take effect: on a worker, a backend's activities alone
// never wait for a slot (its task queue hands out at most `capacity` of them), but fast-path calls
// in the same process share the guard, and then both kinds of call queue and time out by them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Context as ActivityContext } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityExecuteInput } from '@temporalio/worker';
import { Registry } from 'prom-client';
import { createMetrics } from '../../src/observability/metrics';
import { createResilienceInterceptor } from '../../src/resilience/activity-interceptor';
import { BackendGuard } from '../../src/resilience/backend-guard';
import { BulkheadFullError } from '../../src/resilience/errors';
import { deferred, flush, resilience } from './helpers';

const CAPACITY = 2;
const QUEUE = 3;
const TIMEOUT_MS = 200;

function setup() {
  const metrics = createMetrics(new Registry());
  const guard = new BackendGuard({
    backend: 'cache',
    driver: 'redis',
    config: resilience({}, { capacity: CAPACITY, queue: QUEUE, timeout: `${TIMEOUT_MS}ms` }),
    metrics,
  });
  const interceptor = createResilienceInterceptor(guard);
  const input: ActivityExecuteInput = { args: [], headers: {} };
  /** One activity execution as the backend's worker runs it: through the interceptor. */
  const activity = (fn: () => Promise<unknown>): Promise<unknown> => {
    const ctx = { info: { activityType: 'kvGet' }, cancellationSignal: new AbortController().signal };
    return interceptor(ctx as unknown as ActivityContext).inbound!.execute!(input, fn);
  };
  /** One fast-path call (a typed client's direct driver call) through the same guard. */
  const fastPath = <T>(fn: () => Promise<T>): Promise<T> => guard.execute('session.get', fn);
  const total = async (status: string): Promise<number> =>
    (await metrics.driverOperationTotal.get()).values
      .filter((v) => v.labels.status === status)
      .reduce((sum, v) => sum + v.value, 0);
  return { guard, activity, fastPath, total };
}

const settle = <T>(p: Promise<T>): Promise<T | unknown> => p.catch((e: unknown) => e);

describe('bulkhead queue and timeout on a guard shared by activities and fast-path calls', () => {
  it('activities up to the capacity never queue; further calls wait, and the (N+Q+1)th is refused at once', async () => {
    const { guard, activity, fastPath, total } = setup();
    const gate = deferred();
    // the worker's activity slots equal the capacity: this many activities run, none waits
    const activities = Array.from({ length: CAPACITY }, () => activity(() => gate.promise));
    assert.equal(guard.snapshot().inFlight, CAPACITY);
    assert.equal(guard.snapshot().queued, 0);

    let ran = 0;
    const waiting = Array.from({ length: QUEUE }, () => fastPath(async () => ++ran));
    assert.equal(guard.snapshot().queued, QUEUE);

    const refused = await settle(fastPath(async () => 'never'));
    assert.ok(refused instanceof BulkheadFullError);
    assert.equal(refused.reason, 'queue-full');
    assert.equal(guard.snapshot().queued, QUEUE, 'the refused call did not enter the queue');
    assert.equal(await total('bulkhead_full'), 1);

    gate.resolve();
    await Promise.all(activities);
    assert.deepEqual((await Promise.all(waiting)).sort(), [1, 2, 3], 'every queued call ran once a slot freed');
    assert.equal(guard.snapshot().inFlight, 0);
  });

  it('a queued call gives up after `timeout` with BulkheadFull; an activity gets a retryable failure', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { guard, activity, fastPath, total } = setup();
    const gate = deferred();
    // fast-path calls hold every slot: now an activity has to wait for one too
    const holders = Array.from({ length: CAPACITY }, () => fastPath(() => gate.promise));
    const queuedActivity = settle(activity(async () => 'ran'));
    const queuedCall = settle(fastPath(async () => 'ran'));
    assert.equal(guard.snapshot().queued, 2);

    t.mock.timers.tick(TIMEOUT_MS - 1);
    await flush();
    assert.equal(guard.snapshot().queued, 2, 'still waiting just before the timeout');

    t.mock.timers.tick(1);
    const failure = await queuedActivity;
    assert.ok(failure instanceof ApplicationFailure);
    assert.equal(failure.type, 'BulkheadFull');
    assert.equal(failure.nonRetryable, false);
    assert.equal(failure.nextRetryDelay, TIMEOUT_MS);
    const err = await queuedCall;
    assert.ok(err instanceof BulkheadFullError);
    assert.equal(err.reason, 'timeout');
    assert.equal(guard.snapshot().queued, 0);
    assert.equal(await total('bulkhead_full'), 2);

    gate.resolve();
    await Promise.all(holders);
    assert.equal(guard.snapshot().inFlight, 0);
  });
});
