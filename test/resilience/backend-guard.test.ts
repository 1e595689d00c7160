import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { createMetrics } from '../../src/observability/metrics';
import { BackendGuard, errorType } from '../../src/resilience/backend-guard';
import { ManualClock } from '../../src/resilience/clock';
import type { BulkheadConfigInput, CircuitBreakerConfigInput } from '../../src/resilience/config';
import { BulkheadFullError, CircuitOpenError } from '../../src/resilience/errors';
import type { ResilienceMetrics } from '../../src/resilience/metrics';
import { deferred, notFound, resilience, unavailable } from './helpers';

function setup(breaker: CircuitBreakerConfigInput = {}, bulkhead: BulkheadConfigInput = {}) {
  const clock = new ManualClock();
  const metrics = createMetrics(new Registry());
  const guard = new BackendGuard({
    backend: 'cache',
    driver: 'redis',
    config: resilience(breaker, bulkhead),
    metrics,
    clock,
  });
  return { clock, metrics, guard, registry: metrics.registry };
}

/**
 * The value of one series matched on the given labels (0 when absent). `name` may carry a
 * histogram's `_sum` or `_count` suffix.
 */
async function value(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const base = name.replace(/_(sum|count)$/, '');
  const m = registry.getSingleMetric(base) ?? registry.getSingleMetric(name);
  assert.ok(m, `no metric ${name}`);
  const { values } = await m.get();
  const hit = values.find(
    (v: { labels: Record<string, unknown>; metricName?: string }) =>
      (base === name || v.metricName === name) &&
      Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want),
  );
  return hit?.value ?? 0;
}

const op = (operation: string, status: string) => ({ backend: 'cache', driver: 'redis', operation, status });

describe('BackendGuard', () => {
  it('runs the call and records its duration and status', async () => {
    const { guard, clock, registry } = setup();
    const result = await guard.execute('kv.get', async () => {
      clock.advance(250);
      return 'v';
    });
    assert.equal(result, 'v');
    assert.equal(await value(registry, 'prism_driver_operations_total', op('kv.get', 'ok')), 1);
    assert.equal(await value(registry, 'prism_driver_operation_duration_seconds_count', op('kv.get', 'ok')), 1);
    assert.equal(await value(registry, 'prism_driver_operation_duration_seconds_sum', op('kv.get', 'ok')), 0.25);
    assert.equal(await value(registry, 'prism_bulkhead_in_flight', { backend: 'cache' }), 0);
    assert.equal(await value(registry, 'prism_circuit_breaker_state', { backend: 'cache' }), 0);
  });

  it('records a driver error by its code and rethrows it unchanged', async () => {
    const { guard, registry } = setup();
    const err = notFound();
    await assert.rejects(
      guard.execute('kv.get', () => Promise.reject(err)),
      (e) => e === err,
    );
    assert.equal(await value(registry, 'prism_driver_operations_total', op('kv.get', 'error')), 1);
    assert.equal(
      await value(registry, 'prism_driver_errors_total', { operation: 'kv.get', error_type: 'NotFound' }),
      1,
    );
    assert.equal(guard.state(), 'closed');
  });

  it('opens on transient failures, then fails fast without running the call', async () => {
    const { guard, clock, registry } = setup({ max_failures: 2, reset_timeout: '10s' });
    for (let i = 0; i < 2; i++) await assert.rejects(guard.execute('kv.set', () => Promise.reject(unavailable())));
    assert.equal(guard.state(), 'open');
    assert.equal(await value(registry, 'prism_circuit_breaker_state', { backend: 'cache' }), 2);
    assert.equal(
      await value(registry, 'prism_circuit_breaker_transitions_total', {
        backend: 'cache',
        from: 'closed',
        to: 'open',
      }),
      1,
    );

    clock.advance(3_000);
    let ran = false;
    const err = await guard
      .execute('kv.set', async () => {
        ran = true;
      })
      .catch((e: unknown) => e);
    assert.equal(ran, false);
    assert.ok(err instanceof CircuitOpenError);
    assert.equal(err.retryAfterMs, 7_000);
    assert.equal(guard.msUntilHalfOpen(), 7_000);
    assert.equal(await value(registry, 'prism_driver_operations_total', op('kv.set', 'circuit_open')), 1);
    assert.equal(await value(registry, 'prism_driver_errors_total', { error_type: 'CircuitOpen' }), 1);
    assert.equal(await value(registry, 'prism_driver_errors_total', { error_type: 'Unavailable' }), 2);
  });

  it('shows half-open at scrape time once the reset timeout passes, then closes on a good probe', async () => {
    const { guard, clock, registry } = setup({ max_failures: 1, reset_timeout: '1s' });
    await assert.rejects(guard.execute('kv.get', () => Promise.reject(unavailable())));
    clock.advance(1_000);
    assert.equal(await value(registry, 'prism_circuit_breaker_state', { backend: 'cache' }), 1);
    await guard.execute('kv.get', () => Promise.resolve());
    assert.equal(await value(registry, 'prism_circuit_breaker_state', { backend: 'cache' }), 0);
    for (const [from, to] of [
      ['closed', 'open'],
      ['open', 'half-open'],
      ['half-open', 'closed'],
    ]) {
      assert.equal(await value(registry, 'prism_circuit_breaker_transitions_total', { from, to }), 1, `${from}→${to}`);
    }
  });

  it('rejects with BulkheadFull when full, counts it, and never trips the breaker with it', async () => {
    const { guard, registry } = setup({ max_failures: 1 }, { capacity: 1, queue: 1 });
    const gate = deferred();
    const running = guard.execute('kv.get', () => gate.promise);
    const queued = guard.execute('kv.get', () => Promise.resolve());
    assert.equal(await value(registry, 'prism_bulkhead_in_flight', { backend: 'cache' }), 1);
    assert.equal(await value(registry, 'prism_bulkhead_queued', { backend: 'cache' }), 1);

    await assert.rejects(
      guard.execute('kv.get', () => Promise.resolve()),
      BulkheadFullError,
    );
    assert.equal(await value(registry, 'prism_bulkhead_rejected_total', { backend: 'cache' }), 1);
    assert.equal(await value(registry, 'prism_driver_operations_total', op('kv.get', 'bulkhead_full')), 1);
    assert.equal(await value(registry, 'prism_driver_errors_total', { error_type: 'BulkheadFull' }), 1);
    assert.equal(guard.state(), 'closed');

    gate.resolve();
    await Promise.all([running, queued]);
    const snap = guard.snapshot();
    assert.equal(snap.inFlight, 0);
    assert.equal(snap.queued, 0);
    assert.equal(await value(registry, 'prism_bulkhead_in_flight', { backend: 'cache' }), 0);
    assert.equal(await value(registry, 'prism_driver_operations_total', op('kv.get', 'ok')), 2);
  });

  it('an open circuit rejects before queueing; a circuit that opened during the wait is obeyed', async () => {
    const { guard } = setup({ max_failures: 1 }, { capacity: 1, queue: 5 });
    const gate = deferred();
    const running = guard.execute('kv.get', () => gate.promise.then(() => Promise.reject(unavailable())));
    let ran = false;
    const waiting = guard
      .execute('kv.get', async () => {
        ran = true;
      })
      .catch((e: unknown) => e);
    assert.equal(guard.snapshot().queued, 1);
    gate.resolve();
    await assert.rejects(running);
    assert.ok((await waiting) instanceof CircuitOpenError, 'opened while it waited');
    assert.equal(ran, false);

    await assert.rejects(
      guard.execute('kv.get', () => Promise.resolve()),
      CircuitOpenError,
    );
    assert.equal(guard.snapshot().queued, 0);
    assert.equal(guard.snapshot().inFlight, 0);
  });

  it('hands the caller signal to the call', async () => {
    const { guard } = setup();
    const controller = new AbortController();
    const seen = await guard.execute('kv.get', async (signal) => signal, { signal: controller.signal });
    assert.equal(seen, controller.signal);
    const fallback = await guard.execute('kv.get', async (signal) => signal);
    assert.equal(fallback.aborted, false);
  });

  it('reports bulkhead changes only to a sink that does not read them at scrape time', async () => {
    const sink = (watching: boolean) => {
      const reported: Array<[number, number]> = [];
      const metrics: ResilienceMetrics = {
        observeOperation: () => undefined,
        countError: () => undefined,
        circuitTransition: () => undefined,
        setCircuitState: () => undefined,
        setBulkhead: (_backend, inFlight, queued) => reported.push([inFlight, queued]),
        countBulkheadRejected: () => undefined,
        ...(watching ? { watch: () => undefined } : {}),
      };
      const guard = new BackendGuard({ backend: 'b', driver: 'memory', config: resilience(), metrics });
      return { guard, reported };
    };
    const pushed = sink(false);
    await pushed.guard.execute('op', () => Promise.resolve());
    assert.deepEqual(pushed.reported, [
      [0, 0],
      [1, 0],
      [0, 0],
    ]);
    const watched = sink(true);
    await watched.guard.execute('op', () => Promise.resolve());
    assert.deepEqual(watched.reported, [[0, 0]], 'only the initial values');
  });

  it('works without metrics', async () => {
    const guard = new BackendGuard({ backend: 'b', driver: 'memory', config: resilience({ max_failures: 1 }) });
    assert.equal(await guard.execute('op', () => Promise.resolve(1)), 1);
    await assert.rejects(guard.execute('op', () => Promise.reject(unavailable())));
    assert.equal(guard.state(), 'open');
    assert.ok(guard.msUntilHalfOpen() > 0);
    const snap = guard.snapshot();
    assert.equal(snap.state, 'open');
    assert.equal(snap.capacity, 32);
    assert.equal(snap.queueCapacity, 64);
  });

  it('names error types', () => {
    assert.equal(errorType(unavailable()), 'Unavailable');
    assert.equal(errorType(new CircuitOpenError('b', 1)), 'CircuitOpen');
    assert.equal(errorType(new BulkheadFullError('b', 'timeout', 1)), 'BulkheadFull');
    assert.equal(errorType(Object.assign(new Error('x'), { code: 'ECONNRESET' })), 'ECONNRESET');
    assert.equal(errorType(new Error('x'), AbortSignal.abort()), 'Cancelled');
    assert.equal(errorType(new TypeError('x')), 'Other');
  });
});
