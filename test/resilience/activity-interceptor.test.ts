import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Context as ActivityContext } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { ActivityExecuteInput } from '@temporalio/worker';
import { DriverError } from '../../src/drivers/errors';
import {
  createResilienceInterceptor,
  driverFailureType,
  toActivityFailure,
} from '../../src/resilience/activity-interceptor';
import { BackendGuard } from '../../src/resilience/backend-guard';
import { ManualClock } from '../../src/resilience/clock';
import { BulkheadFullError, CircuitOpenError } from '../../src/resilience/errors';
import { resilience, unavailable } from './helpers';

describe('toActivityFailure', () => {
  it('CircuitOpenError → retryable CircuitOpen with the next retry when a probe is allowed', () => {
    const f = toActivityFailure(new CircuitOpenError('cache', 7_250));
    assert.ok(f instanceof ApplicationFailure);
    assert.equal(f.type, 'CircuitOpen');
    assert.equal(f.nonRetryable, false);
    assert.equal(f.nextRetryDelay, 7_250);
    assert.match(f.message, /circuit for backend "cache" is open/);
    assert.deepEqual(f.details, [{ backend: 'cache', state: 'open', retryAfterMs: 7_250 }]);
  });

  it('a retry delay is never below the minimum', () => {
    assert.equal(toActivityFailure(new CircuitOpenError('cache', 3)).nextRetryDelay, 100);
  });

  it('BulkheadFullError → retryable BulkheadFull with a next retry delay', () => {
    const f = toActivityFailure(new BulkheadFullError('cache', 'timeout', 5_000));
    assert.equal(f.type, 'BulkheadFull');
    assert.equal(f.nonRetryable, false);
    assert.equal(f.nextRetryDelay, 5_000);
  });

  it('permanent driver errors → non-retryable Driver<Code>', () => {
    for (const code of ['InvalidArgument', 'ValueTooLarge', 'KeyTooLong', 'Unsupported', 'NotFound'] as const) {
      const err = new DriverError('redis', code, 'nope');
      const f = toActivityFailure(err);
      assert.equal(f.type, `Driver${code}`);
      assert.equal(f.type, driverFailureType(code));
      assert.equal(f.nonRetryable, true);
      assert.equal(f.nextRetryDelay, undefined);
      assert.equal(f.message, 'redis: nope');
      assert.equal(f.cause, err);
    }
  });

  it('transient driver errors → retryable DriverUnavailable / DriverTimeout', () => {
    assert.equal(toActivityFailure(new DriverError('pg', 'Unavailable', 'down')).type, 'DriverUnavailable');
    const t = toActivityFailure(new DriverError('pg', 'Timeout', 'slow'));
    assert.equal(t.type, 'DriverTimeout');
    assert.equal(t.nonRetryable, false);
  });

  it('passes anything else through unchanged', () => {
    const af = ApplicationFailure.nonRetryable('mine', 'Mine');
    assert.equal(toActivityFailure(af), af);
    const cancelled = new CancelledFailure('cancelled');
    assert.equal(toActivityFailure(cancelled), cancelled);
    const plain = new Error('x');
    assert.equal(toActivityFailure(plain), plain);
  });
});

describe('createResilienceInterceptor', () => {
  function fakeContext(activityType: string, signal = new AbortController().signal): ActivityContext {
    return { info: { activityType }, cancellationSignal: signal } as unknown as ActivityContext;
  }
  const input: ActivityExecuteInput = { args: [], headers: {} };

  it('runs the execution through the guard under the activity type and maps its errors', async () => {
    const guard = new BackendGuard({
      backend: 'cache',
      driver: 'redis',
      config: resilience({ max_failures: 1, reset_timeout: '2s' }),
      clock: new ManualClock(),
    });
    const factory = createResilienceInterceptor(guard);
    const { inbound } = factory(fakeContext('kvGet'));
    assert.ok(inbound?.execute);

    assert.equal(await inbound.execute(input, async () => 'value'), 'value');
    await assert.rejects(
      inbound.execute(input, () => Promise.reject(unavailable())),
      (e) => e instanceof ApplicationFailure && e.type === 'DriverUnavailable' && e.nonRetryable === false,
    );
    let ran = false;
    await assert.rejects(
      inbound.execute(input, async () => {
        ran = true;
      }),
      (e) => e instanceof ApplicationFailure && e.type === 'CircuitOpen' && e.nextRetryDelay === 2_000,
    );
    assert.equal(ran, false);
  });

  it('chooses the guard per execution, and passes through when there is none', async () => {
    const guard = new BackendGuard({ backend: 'cache', driver: 'redis', config: resilience() });
    const factory = createResilienceInterceptor((ctx) => (ctx.info.activityType.startsWith('kv') ? guard : undefined));
    assert.deepEqual(factory(fakeContext('other')), {});
    const { inbound } = factory(fakeContext('kvSet'));
    const plain = new Error('plain');
    await assert.rejects(
      inbound!.execute!(input, () => Promise.reject(plain)),
      (e) => e === plain,
    );
  });

  it('hands the activity cancellation signal to the guard', async () => {
    const guard = new BackendGuard({ backend: 'cache', driver: 'redis', config: resilience({}, { capacity: 1 }) });
    const hold = await guard.bulkhead.acquire();
    const controller = new AbortController();
    const { inbound } = createResilienceInterceptor(guard)(fakeContext('kvGet', controller.signal));
    const waiting = inbound!.execute!(input, async () => 'ran');
    assert.equal(guard.snapshot().queued, 1);
    const reason = new CancelledFailure('activity cancelled');
    controller.abort(reason);
    await assert.rejects(waiting, (e) => e === reason);
    hold();
  });
});
