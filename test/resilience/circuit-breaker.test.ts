import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type CircuitState,
  CircuitBreaker,
  classifyError,
  isTransientFailure,
} from '../../src/resilience/circuit-breaker';
import { ManualClock } from '../../src/resilience/clock';
import type { CircuitBreakerConfigInput } from '../../src/resilience/config';
import { CircuitOpenError, MIN_RETRY_AFTER_MS } from '../../src/resilience/errors';
import { deferred, notFound, resilience, timeout, unavailable } from './helpers';

function setup(config: CircuitBreakerConfigInput = {}) {
  const clock = new ManualClock(1_000);
  const transitions: Array<[CircuitState, CircuitState]> = [];
  const breaker = new CircuitBreaker({
    backend: 'redis-main',
    config: resilience(config).circuit_breaker,
    clock,
    onTransition: (from, to) => transitions.push([from, to]),
  });
  return { clock, breaker, transitions };
}

const fail = (b: CircuitBreaker, err: unknown = unavailable()) =>
  b
    .execute(() => Promise.reject(err))
    .then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    );
const succeed = (b: CircuitBreaker) => b.execute(() => Promise.resolve('ok'));

function openError(fn: () => unknown): CircuitOpenError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CircuitOpenError, `expected CircuitOpenError, got ${String(err)}`);
    return err;
  }
  return assert.fail('expected CircuitOpenError');
}

describe('isTransientFailure / classifyError', () => {
  it('counts retryable driver errors and network errors only', () => {
    assert.equal(isTransientFailure(unavailable()), true);
    assert.equal(isTransientFailure(timeout()), true);
    assert.equal(isTransientFailure(notFound()), false);
    assert.equal(isTransientFailure(Object.assign(new Error('x'), { code: 'ECONNRESET' })), true);
    assert.equal(isTransientFailure(new TypeError('bug')), false);
    assert.equal(isTransientFailure(undefined), false);
  });

  it('treats a permanent driver error as the backend answering, and unknown errors as no news', () => {
    assert.equal(classifyError(unavailable()), 'failure');
    assert.equal(classifyError(notFound()), 'success');
    assert.equal(classifyError(new TypeError('bug')), 'ignored');
  });
});

describe('CircuitBreaker, consecutive mode', () => {
  it('opens after max_failures transient failures in a row', async () => {
    const { breaker, transitions } = setup({ max_failures: 3 });
    await fail(breaker);
    await fail(breaker, timeout());
    assert.equal(breaker.state(), 'closed');
    await fail(breaker);
    assert.equal(breaker.state(), 'open');
    assert.deepEqual(transitions, [['closed', 'open']]);
  });

  it('does not count permanent failures, and they break the streak', async () => {
    const { breaker } = setup({ max_failures: 2 });
    for (let i = 0; i < 10; i++) await fail(breaker, notFound());
    assert.equal(breaker.state(), 'closed');
    await fail(breaker);
    await fail(breaker, notFound());
    await fail(breaker);
    assert.equal(breaker.state(), 'closed');
    await fail(breaker);
    assert.equal(breaker.state(), 'open');
  });

  it('ignores errors that say nothing about the backend', async () => {
    const { breaker } = setup({ max_failures: 2 });
    await fail(breaker);
    await fail(breaker, new TypeError('bug'));
    assert.equal(breaker.snapshot().consecutiveFailures, 1);
    await fail(breaker);
    assert.equal(breaker.state(), 'open');
  });

  it('a success resets the count', async () => {
    const { breaker } = setup({ max_failures: 2 });
    await fail(breaker);
    await succeed(breaker);
    await fail(breaker);
    assert.equal(breaker.state(), 'closed');
  });

  it('fails fast while open, with a retryAfterMs that shrinks as the clock advances', async () => {
    const { breaker, clock } = setup({ max_failures: 1, reset_timeout: '10s' });
    await fail(breaker);
    let ran = false;
    const rejected = await breaker
      .execute(async () => {
        ran = true;
      })
      .catch((e: unknown) => e);
    assert.ok(rejected instanceof CircuitOpenError);
    assert.equal(ran, false, 'an open circuit must not run the call');

    let err = openError(() => breaker.acquire());
    assert.equal(err.backend, 'redis-main');
    assert.equal(err.state, 'open');
    assert.equal(err.retryAfterMs, 10_000);
    assert.equal(breaker.msUntilHalfOpen(), 10_000);

    clock.advance(4_000);
    err = openError(() => breaker.acquire());
    assert.equal(err.retryAfterMs, 6_000);
    assert.equal(breaker.msUntilHalfOpen(), 6_000);

    clock.advance(5_950);
    err = openError(() => breaker.acquire());
    assert.equal(err.retryAfterMs, MIN_RETRY_AFTER_MS, 'never below the minimum');
    assert.equal(breaker.msUntilHalfOpen(), 50);

    clock.advance(50);
    assert.equal(breaker.msUntilHalfOpen(), 0);
    assert.equal(breaker.state(), 'half-open');
  });

  it('turns half-open exactly at reset_timeout', async () => {
    const { breaker, clock, transitions } = setup({ max_failures: 1, reset_timeout: '500ms' });
    await fail(breaker);
    clock.advance(499);
    assert.equal(breaker.state(), 'open');
    clock.advance(1);
    assert.equal(breaker.state(), 'half-open');
    assert.deepEqual(transitions, [
      ['closed', 'open'],
      ['open', 'half-open'],
    ]);
  });
});

describe('CircuitBreaker, half-open', () => {
  async function halfOpen(config: CircuitBreakerConfigInput) {
    const s = setup({ max_failures: 1, reset_timeout: '1s', ...config });
    await fail(s.breaker);
    s.clock.advance(1_000);
    assert.equal(s.breaker.state(), 'half-open');
    return s;
  }

  it('lets exactly half_open_probes calls through and rejects the rest fast', async () => {
    const { breaker } = await halfOpen({ half_open_probes: 3 });
    const permits = [breaker.acquire(), breaker.acquire(), breaker.acquire()];
    assert.ok(permits.every((p) => p.probe));
    const err = openError(() => breaker.acquire());
    assert.equal(err.state, 'half-open');
    assert.equal(err.retryAfterMs, 1_000);
    assert.equal(breaker.snapshot().probesInFlight, 3);
  });

  it('closes once every probe succeeds', async () => {
    const { breaker, transitions } = await halfOpen({ half_open_probes: 2 });
    const [a, b] = [breaker.acquire(), breaker.acquire()];
    a.success();
    assert.equal(breaker.state(), 'half-open');
    b.success();
    assert.equal(breaker.state(), 'closed');
    assert.deepEqual(transitions.at(-1), ['half-open', 'closed']);
    await succeed(breaker);
  });

  it('a single probe success closes it with the default of one probe', async () => {
    const { breaker } = await halfOpen({});
    await succeed(breaker);
    assert.equal(breaker.state(), 'closed');
  });

  it('a probe failure opens it again for another reset_timeout', async () => {
    const { breaker, clock, transitions } = await halfOpen({ half_open_probes: 2 });
    const [a, b] = [breaker.acquire(), breaker.acquire()];
    a.success();
    b.failure(unavailable());
    assert.equal(breaker.state(), 'open');
    assert.equal(breaker.msUntilHalfOpen(), 1_000);
    assert.deepEqual(transitions.at(-1), ['half-open', 'open']);
    clock.advance(1_000);
    assert.equal(breaker.state(), 'half-open');
  });

  it('a probe answered with a permanent error counts as the backend being back', async () => {
    const { breaker } = await halfOpen({});
    await fail(breaker, notFound());
    assert.equal(breaker.state(), 'closed');
  });

  it('a probe with an unrelated error gives its slot back', async () => {
    const { breaker } = await halfOpen({});
    await fail(breaker, new TypeError('bug'));
    assert.equal(breaker.state(), 'half-open');
    const p = breaker.acquire();
    assert.equal(p.probe, true);
    p.success();
    assert.equal(breaker.state(), 'closed');
  });

  it('ignores the outcome of a call admitted before the last transition', async () => {
    const { breaker, clock } = setup({ max_failures: 2, reset_timeout: '1s' });
    const slow = breaker.acquire(); // admitted while closed
    await fail(breaker);
    await fail(breaker);
    assert.equal(breaker.state(), 'open');
    clock.advance(1_000);
    assert.equal(breaker.state(), 'half-open');
    slow.failure(unavailable()); // late news from the closed period: must not re-open
    assert.equal(breaker.state(), 'half-open');
    const probe = breaker.acquire();
    assert.equal(probe.probe, true);
    probe.success();
    assert.equal(breaker.state(), 'closed');
  });

  it('reports each outcome once', async () => {
    const { breaker } = setup({ max_failures: 2 });
    const p = breaker.acquire();
    p.failure(unavailable());
    p.failure(unavailable());
    assert.equal(breaker.state(), 'closed');
  });

  it('execute holds the probe slot while the call runs', async () => {
    const { breaker } = await halfOpen({});
    const gate = deferred<string>();
    const running = breaker.execute(() => gate.promise);
    openError(() => breaker.acquire());
    gate.resolve('ok');
    assert.equal(await running, 'ok');
    assert.equal(breaker.state(), 'closed');
  });
});

describe('CircuitBreaker, sampling mode', () => {
  const sampling = { mode: 'sampling', failure_rate: 0.5, minimum_calls: 10, sampling_window: '10s' } as const;

  it('opens when the failure rate in the window reaches failure_rate', async () => {
    const { breaker } = setup(sampling);
    for (let i = 0; i < 5; i++) await succeed(breaker);
    for (let i = 0; i < 4; i++) await fail(breaker);
    assert.equal(breaker.state(), 'closed', '9 calls: below minimum_calls');
    await fail(breaker);
    assert.equal(breaker.state(), 'open', '5 of 10 failed');
  });

  it('stays closed below the rate, and does not count permanent failures as failures', async () => {
    const { breaker } = setup(sampling);
    for (let i = 0; i < 6; i++) await succeed(breaker);
    for (let i = 0; i < 4; i++) await fail(breaker, notFound());
    for (let i = 0; i < 4; i++) await fail(breaker);
    assert.equal(breaker.state(), 'closed', '4 of 14 failed');
    const snap = breaker.snapshot();
    assert.equal(snap.windowCalls, 14);
    assert.equal(snap.windowFailures, 4);
  });

  it('forgets calls older than the window', async () => {
    const { breaker, clock } = setup(sampling);
    for (let i = 0; i < 9; i++) await fail(breaker);
    clock.advance(11_000);
    assert.equal(breaker.snapshot().windowCalls, 0);
    for (let i = 0; i < 9; i++) await succeed(breaker);
    await fail(breaker);
    assert.equal(breaker.state(), 'closed', '1 of 10 in the window failed');
  });

  it('ignores max_failures', async () => {
    const { breaker } = setup({ ...sampling, max_failures: 1 });
    for (let i = 0; i < 9; i++) await fail(breaker);
    assert.equal(breaker.state(), 'closed');
  });

  it('goes through half-open like consecutive mode', async () => {
    const { breaker, clock } = setup({ ...sampling, minimum_calls: 2, reset_timeout: '2s' });
    await fail(breaker);
    await fail(breaker);
    assert.equal(breaker.state(), 'open');
    clock.advance(2_000);
    await succeed(breaker);
    assert.equal(breaker.state(), 'closed');
    assert.equal(breaker.snapshot().windowCalls, 0, 'a fresh window after closing');
  });
});
