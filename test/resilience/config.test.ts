import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ZodError } from 'zod';
import {
  circuitBreakerConfigSchema,
  DEFAULT_RESILIENCE_CONFIG,
  parseResilienceConfig,
} from '../../src/resilience/config';
import { parseDuration } from '../../src/resilience/duration';

describe('parseDuration', () => {
  it('reads units, compounds and milliseconds', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('5s'), 5_000);
    assert.equal(parseDuration('1.5s'), 1_500);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration(' 30s '), 30_000);
    assert.equal(parseDuration(250), 250);
  });

  it('explains what it expected', () => {
    for (const bad of ['5', 'fast', '5 s', '-1s', '', '5d']) {
      assert.throws(() => parseDuration(bad), /expected a duration like 500ms, 5s, 2m/, bad);
    }
    assert.throws(() => parseDuration(-1), /expected a duration like 500ms/);
    assert.throws(() => parseDuration(Number.NaN), /expected a duration/);
  });
});

describe('resilience config', () => {
  it('has the documented defaults', () => {
    assert.deepEqual(DEFAULT_RESILIENCE_CONFIG, {
      circuit_breaker: {
        max_failures: 5,
        reset_timeout: 30_000,
        half_open_probes: 1,
        mode: 'consecutive',
        failure_rate: 0.5,
        sampling_window: 30_000,
        minimum_calls: 10,
      },
      bulkhead: { capacity: 32, queue: 64, timeout: 5_000 },
    });
  });

  it('reads snake_case YAML values, durations to milliseconds, from a whole backend entry', () => {
    const config = parseResilienceConfig({
      circuit_breaker: { max_failures: 3, reset_timeout: '10s', mode: 'sampling', sampling_window: '1m' },
      bulkhead: { capacity: 8, queue: 0, timeout: 250 },
      ...{ driver: 'redis', config: {} },
    } as { circuit_breaker: unknown; bulkhead: unknown });
    assert.equal(config.circuit_breaker.max_failures, 3);
    assert.equal(config.circuit_breaker.reset_timeout, 10_000);
    assert.equal(config.circuit_breaker.sampling_window, 60_000);
    assert.equal(config.circuit_breaker.half_open_probes, 1);
    assert.deepEqual(config.bulkhead, { capacity: 8, queue: 0, timeout: 250 });
  });

  it('names the bad field', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ reset_timeout: 'soon' }, /reset_timeout[\s\S]*expected a duration like 500ms, 5s, 2m/],
      [{ reset_timeout: '0s' }, /reset_timeout[\s\S]*greater than zero/],
      [{ failure_rate: 1.5 }, /failure_rate/],
      [{ failure_rate: 0 }, /failure_rate/],
      [{ half_open_probes: 0 }, /half_open_probes/],
      [{ mode: 'adaptive' }, /mode/],
      [{ max_failure: 3 }, /max_failure/],
    ];
    for (const [input, message] of cases) {
      const result = circuitBreakerConfigSchema.safeParse(input);
      assert.equal(result.success, false, JSON.stringify(input));
      assert.ok(result.error instanceof ZodError);
      const text = result.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('\n');
      assert.match(text, message);
    }
    assert.throws(() => parseResilienceConfig({ bulkhead: { capacity: 0 } }), /capacity/);
  });
});
