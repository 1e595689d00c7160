// BackendPool, the one place a backend is opened: handles share one driver and one guard per
// backend, every operation of a handle goes through that guard (and its metrics), and a stopped
// backend opens the breaker so later calls, and later opens, fail fast without touching it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../../src/common/config-errors';
import { isDriverError } from '../../src/drivers/errors';
import { CircuitOpenError } from '../../src/resilience/errors';
import { BackendPool } from '../../src/runtime/backend-pool';
import { stackEnv, uniqueName } from '../helpers/env';
import { ExtraRedis } from '../helpers/extra-redis';
import { metricValue } from '../helpers/guard-metrics';

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));
const redis = (url = stackEnv.redisUrl, extra: Record<string, unknown> = {}) => ({
  driver: 'redis',
  config: { url, commandTimeoutMs: 1000, connectTimeoutMs: 1000 },
  ...extra,
});

describe('BackendPool', () => {
  it('opening a backend twice shares its driver and guard; the driver closes with the last handle, the guard stays', async () => {
    const pool = new BackendPool();
    const first = await pool.open('cache', redis());
    const second = await pool.open('cache', redis());
    assert.equal(second.guard, first.guard, 'one guard per backend');
    assert.equal(second.unguarded, first.unguarded, 'one driver per backend');
    assert.deepEqual(pool.names(), ['cache']);

    const key = uniqueName('pool');
    await first.close();
    await first.close(); // a second close of the same handle releases nothing more
    await second.set!(key, utf8('v'));
    assert.equal(text(await second.get!(key)), 'v', 'still open while a handle is');
    await second.delete!(key);
    await second.close();
    assert.deepEqual(pool.names(), []);
    assert.equal((await first.unguarded.health()).healthy, false, 'closed with the last handle');

    const again = await pool.open('cache', redis());
    assert.notEqual(again.unguarded, first.unguarded, 'a new driver');
    assert.equal(again.guard, first.guard, 'the same guard: its breaker remembers');
    await again.close();
  });

  it('every operation of a handle goes through the guard and is counted with its backend and operation', async () => {
    const pool = new BackendPool();
    const handle = await pool.open('counted', redis());
    try {
      const key = uniqueName('pool');
      await handle.set!(key, utf8('v'));
      await handle.get!(key);
      await handle.get!(key);
      await handle.setWithTtl!(key, utf8('w'), 60);
      await handle.delete!(key);
      const total = (operation: string) =>
        metricValue(pool.registry, 'prism_driver_operations_total', {
          backend: 'counted',
          driver: 'redis',
          operation,
          status: 'ok',
        });
      assert.equal(await total('connect'), 1);
      assert.equal(await total('keyvalue_basic.set'), 1);
      assert.equal(await total('keyvalue_basic.get'), 2);
      assert.equal(await total('keyvalue_ttl.setWithTtl'), 1);
      assert.equal(await total('keyvalue_basic.delete'), 1);
      assert.equal(handle.guard.snapshot().inFlight, 0);
    } finally {
      await handle.close();
    }
  });

  it('refuses a bad config naming the field, and another config under a name in use', async () => {
    const pool = new BackendPool();
    await assert.rejects(pool.open('b', redis(undefined, { bulkhead: { capacity: 0 } })), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /backends\.b\.bulkhead\.capacity/);
      return true;
    });
    await assert.rejects(pool.open('b', { driver: 'nope' }), /backends\.b\.driver: unknown driver "nope"/);
    await assert.rejects(pool.open('b', { driver: 'redis', config: { url: 42 } }), /backends\.b\.config\.url/);
    const handle = await pool.open('b', redis());
    try {
      await assert.rejects(
        pool.open('b', redis(undefined, { circuit_breaker: { max_failures: 2 } })),
        /backends\.b: already open in this process with another config/,
      );
    } finally {
      await handle.close();
    }
  });

  describe('a stopped backend', () => {
    const own = new ExtraRedis(uniqueName('pool-redis'), 16201);
    before(() => own.up());
    after(() => own.down());

    it('opens the breaker: later calls fail fast with CircuitOpen without reaching the driver, and so does opening it', async () => {
      const pool = new BackendPool();
      const config = redis(own.url, { circuit_breaker: { max_failures: 2, reset_timeout: '60s' } });
      const handle = await pool.open('fragile', config);
      const driver = handle.unguarded as { get(key: string): Promise<Uint8Array | null> };
      const realGet = driver.get.bind(driver);
      let reached = 0;
      driver.get = (key) => {
        reached++;
        return realGet(key);
      };
      try {
        assert.equal(await handle.get!(uniqueName('k')), null);
        assert.deepEqual(pool.health(), { status: 'OK', openBreakers: [] });
        own.down();
        for (let i = 0; i < 2; i++) {
          await assert.rejects(handle.get!('k'), (err: unknown) => isDriverError(err) && err.retryable);
        }
        assert.equal(reached, 3);
        await assert.rejects(handle.get!('k'), CircuitOpenError);
        assert.equal(reached, 3, 'the open circuit kept the call from the driver');
        assert.deepEqual(pool.health(), { status: 'DEGRADED', openBreakers: ['fragile'] });
        assert.equal(
          await metricValue(pool.registry, 'prism_driver_operations_total', {
            backend: 'fragile',
            status: 'circuit_open',
          }),
          1,
        );
        assert.equal(await metricValue(pool.registry, 'prism_circuit_breaker_state', { backend: 'fragile' }), 2);
        await handle.close();
        await assert.rejects(pool.open('fragile', config), CircuitOpenError, 'no connection attempt while open');
        assert.deepEqual(pool.names(), []);
      } finally {
        await handle.close();
      }
    });
  });
});
