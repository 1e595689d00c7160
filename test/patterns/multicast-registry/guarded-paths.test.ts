// The multicast client's direct (registry) and inbox (receive/ack) paths run through the
// backend's guard: each call is counted with its backend and operation, and a stopped backend
// opens the breaker, after which calls fail fast with CircuitOpen without reaching the driver.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { inboxQueue } from '../../../src/activities/multicast-registry/inbox';
import { MulticastRegistryClient } from '../../../src/client/multicast-registry';
import { PrismClient } from '../../../src/client/prism-client';
import { parseConfig } from '../../../src/config/load';
import { isDriverError } from '../../../src/drivers/errors';
import { CircuitOpenError } from '../../../src/resilience/errors';
import { BackendPool } from '../../../src/runtime/backend-pool';
import { countDriverCalls } from '../../helpers/driver-calls';
import { stackEnv, uniqueName } from '../../helpers/env';
import { ExtraRedis } from '../../helpers/extra-redis';
import { metricValue } from '../../helpers/guard-metrics';
import { testConfig } from '../../helpers/worker-process';

describe('multicast registry client: direct and inbox paths are guarded', () => {
  let prism: PrismClient;
  before(async () => {
    prism = await PrismClient.connect({ taskQueue: uniqueName('mcr-guarded') });
  });
  after(() => prism?.close());

  it('counts every registry and inbox call under the backend, with its operation', async () => {
    const pool = new BackendPool();
    const handle = await pool.open('reg', { driver: 'redis', config: { url: stackEnv.redisUrl } });
    const ok = (operation: string) =>
      metricValue(pool.registry, 'prism_driver_operations_total', {
        backend: 'reg',
        driver: 'redis',
        operation,
        status: 'ok',
      });
    try {
      const registry = new MulticastRegistryClient(prism, uniqueName('guarded'), { direct: handle, inbox: handle });
      await registry.register('web-1', { zone: 'eu' }, { ttlSeconds: 60 });
      assert.equal(await ok('keyvalue_cas.compareAndSet'), 1, 'register: one compare-and-set');
      await registry.heartbeat('web-1', { ttlSeconds: 60 });
      assert.equal(await ok('keyvalue_cas.compareAndSet'), 2, 'heartbeat: another');
      const page = await registry.enumerate({ zone: 'eu' });
      assert.deepEqual(
        page.identities.map((r) => r.identity),
        ['web-1'],
      );
      assert.ok((await ok('keyvalue_scan.scan')) >= 1, 'enumerate scans');

      const queue = inboxQueue({ registry: registry.registry, identity: 'web-1' });
      await handle.enqueue!(queue, new TextEncoder().encode('hello'), { 'content-type': 'text/plain' });
      const [message] = await registry.receive('web-1', { max: 1, visibilityTimeoutMs: 30_000 });
      assert.equal(message.payload, 'hello');
      assert.equal(await ok('queue_basic.receive'), 1);
      await registry.ack('web-1', message.receipt);
      assert.equal(await ok('queue_basic.ack'), 1);
      await registry.unregister('web-1');
      assert.equal(handle.guard.snapshot().inFlight, 0);
    } finally {
      await handle.close();
    }
  });

  it('fromConfig opens the registry and durability slots’ backends in the pool; close releases them', async () => {
    const pool = new BackendPool();
    const config = parseConfig(
      JSON.stringify(
        testConfig(uniqueName('mcr-guarded'), {
          backends: {
            reg: { driver: 'redis', config: { url: stackEnv.redisUrl } },
            msg: { driver: 'nats', config: { servers: stackEnv.natsUrl } },
          },
          patterns: { 'multicast-registry': { slots: { registry: 'reg', messaging: 'msg', durability: 'reg' } } },
        }),
      ),
    );
    const registry = await MulticastRegistryClient.fromConfig(prism, uniqueName('cfg'), config, { pool });
    try {
      assert.deepEqual(pool.names(), ['reg'], 'only what the fast paths use');
      await registry.register('web-1', {}, { ttlSeconds: 60 });
      assert.deepEqual(await registry.receive('web-1'), []);
      const calls = (operation: string) =>
        metricValue(pool.registry, 'prism_driver_operations_total', { backend: 'reg', operation, status: 'ok' });
      assert.equal(await calls('keyvalue_cas.compareAndSet'), 1);
      assert.equal(await calls('queue_basic.receive'), 1);
      await registry.unregister('web-1');
    } finally {
      await registry.close();
    }
    assert.deepEqual(pool.names(), []);
  });

  describe('with the registry backend stopped', () => {
    const own = new ExtraRedis(uniqueName('mcr-guarded-redis'), 16202);
    before(() => own.up());
    after(() => own.down());

    it('the breaker opens and both paths fail fast with CircuitOpen without reaching the driver', async () => {
      const pool = new BackendPool();
      const handle = await pool.open('fragile', {
        driver: 'redis',
        config: { url: own.url, commandTimeoutMs: 1000 },
        circuit_breaker: { max_failures: 2, reset_timeout: '60s' },
      });
      const reached = countDriverCalls(handle.unguarded);
      try {
        const registry = new MulticastRegistryClient(prism, uniqueName('gone'), { direct: handle, inbox: handle });
        await registry.register('web-1', {}, { ttlSeconds: 60 });
        own.down();
        await assert.rejects(registry.heartbeat('web-1'), (err: unknown) => isDriverError(err) && err.retryable);
        await assert.rejects(registry.receive('web-1'), (err: unknown) => isDriverError(err) && err.retryable);
        const before = reached.count;
        await assert.rejects(registry.register('web-2'), CircuitOpenError);
        await assert.rejects(registry.enumerate({}), CircuitOpenError);
        await assert.rejects(registry.receive('web-1'), CircuitOpenError);
        await assert.rejects(registry.ack('web-1', 'receipt'), CircuitOpenError);
        assert.equal(reached.count, before, 'no call reached the driver while the circuit was open');
        assert.deepEqual(pool.health(), { status: 'DEGRADED', openBreakers: ['fragile'] });
        assert.equal(
          await metricValue(pool.registry, 'prism_driver_operations_total', {
            backend: 'fragile',
            status: 'circuit_open',
          }),
          4,
        );
      } finally {
        await handle.close();
      }
    });
  });
});
