// A long call admitted as the half-open probe (a streaming or shipping round, minutes long) closes
// the circuit as soon as it says its backend answered, instead of holding the circuit half-open,
// every other call refused, until it ends.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { createMetrics } from '../../src/observability/metrics';
import type { Context as ActivityContext } from '@temporalio/activity';
import { createResilienceInterceptor } from '../../src/resilience/activity-interceptor';
import { backendAnswered, withProbeScope } from '../../src/resilience/backend-answered';
import { BackendGuard } from '../../src/resilience/backend-guard';
import { ManualClock } from '../../src/resilience/clock';
import { CircuitOpenError } from '../../src/resilience/errors';
import { deferred, resilience, unavailable } from './helpers';

async function halfOpenGuard(): Promise<BackendGuard> {
  const clock = new ManualClock();
  const guard = new BackendGuard({
    backend: 'pg',
    driver: 'postgres',
    config: resilience({ max_failures: 1, reset_timeout: '5s' }),
    metrics: createMetrics(new Registry()),
    clock,
  });
  await assert.rejects(guard.execute('q', () => Promise.reject(unavailable())));
  clock.advance(5_000);
  assert.equal(guard.state(), 'half-open');
  return guard;
}

/** A long activity on the guard, as the interceptor runs it: answered once `answer` resolves. */
function longCall(guard: BackendGuard, answer: Promise<void>, end: Promise<void>): Promise<void> {
  return withProbeScope((onProbe) =>
    guard.execute(
      'pump',
      async () => {
        await answer;
        backendAnswered();
        await end;
      },
      { onProbe },
    ),
  );
}

describe('backendAnswered: a long probe closes the circuit when its backend answers', () => {
  it('until it answers, others are refused; once it has, the circuit is closed and others run', async () => {
    const guard = await halfOpenGuard();
    const answer = deferred();
    const end = deferred();
    const round = longCall(guard, answer.promise, end.promise);
    await assert.rejects(
      guard.execute('other', async () => 'x'),
      (e) => e instanceof CircuitOpenError,
    );
    answer.resolve();
    await new Promise((r) => setImmediate(r));
    assert.equal(guard.state(), 'closed', 'closed while the round still runs');
    assert.equal(await guard.execute('other', async () => 'ran'), 'ran');
    end.resolve();
    await round;
    assert.equal(guard.state(), 'closed');
  });

  it('a round that fails after its backend answered does not reopen the circuit on its own', async () => {
    const guard = await halfOpenGuard();
    const answer = deferred();
    const end = deferred();
    const round = longCall(guard, answer.promise, end.promise);
    answer.resolve();
    await new Promise((r) => setImmediate(r));
    end.reject(unavailable());
    await assert.rejects(round);
    // Its outcome belonged to the half-open period, which is over: stale news.
    assert.equal(guard.state(), 'closed');
  });

  it('a round that fails before answering reopens the circuit, as any failed probe does', async () => {
    const guard = await halfOpenGuard();
    const answer = deferred();
    const round = longCall(guard, answer.promise, Promise.resolve());
    answer.reject(unavailable());
    await assert.rejects(round);
    assert.equal(guard.state(), 'open');
  });

  it("reaches the guard from inside an activity run by the worker's interceptor", async () => {
    const guard = await halfOpenGuard();
    const ctx = { info: { activityType: 'cdc.source.pump' }, cancellationSignal: new AbortController().signal };
    const { inbound } = createResilienceInterceptor(guard)(ctx as unknown as ActivityContext);
    const end = deferred();
    const activity = inbound!.execute!({ args: [], headers: {} }, async () => {
      await Promise.resolve();
      backendAnswered();
      await end.promise;
      return 'done';
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(guard.state(), 'closed', 'closed while the activity still runs');
    end.resolve();
    assert.equal(await activity, 'done');
  });

  it('outside a probe it does nothing: in a closed circuit, or outside any guarded call', async () => {
    backendAnswered();
    const guard = await halfOpenGuard();
    await guard.execute('probe', async () => 'ok');
    assert.equal(guard.state(), 'closed');
    await withProbeScope((onProbe) =>
      guard.execute(
        'closed-call',
        async () => {
          backendAnswered();
          await Promise.reject(unavailable());
        },
        { onProbe },
      ),
    ).catch(() => undefined);
    // max_failures 1: the failure counted as in any closed circuit, backendAnswered changed nothing.
    assert.equal(guard.state(), 'open');
  });
});
