// A session store in the worker's process, on the worker's BackendPool: its fast-path calls go
// through the same guards as the worker's activities and show on the worker's /metrics, and a
// breaker opened by fast-path failures (a shard's private Redis stopped) shows on /health.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SessionStore } from '../../../src/client/session-store';
import { parseConfig } from '../../../src/config/load';
import { isDriverError } from '../../../src/drivers/errors';
import { CircuitOpenError } from '../../../src/resilience/errors';
import { PrismWorker } from '../../../src/runtime/prism-worker';
import { uniqueName } from '../../helpers/env';
import { ExtraRedis } from '../../helpers/extra-redis';
import { scrapedValue } from '../../helpers/guard-metrics';
import { testConfig } from '../../helpers/worker-process';
import { redisDb } from './fixtures';

describe('session store on a worker’s backends', () => {
  const own = new ExtraRedis(uniqueName('session-pool-redis'), 16203);
  const topology = {
    regions: { a: ['a0'], x: ['x0'] },
    backends: {
      a0: redisDb(8),
      x0: {
        driver: 'redis',
        config: { url: own.url, commandTimeoutMs: 1000 },
        circuit_breaker: { max_failures: 2, reset_timeout: '60s' },
      },
    },
  };
  let worker: PrismWorker;
  let running: Promise<unknown>;
  let storeA: SessionStore;
  let storeX: SessionStore;
  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${worker.httpPort}${path}`);
    return { status: res.status, body: await res.text() };
  };

  before(async () => {
    own.up();
    const config = testConfig(uniqueName('session-pool'), {
      backends: topology.backends,
      patterns: { 'session-store': { slots: { shards: ['a0', 'x0'] } } },
    });
    worker = await PrismWorker.create({
      config: parseConfig(JSON.stringify({ ...config, logging: { level: 'warn' } })),
    });
    running = worker.run();
    storeA = await SessionStore.connect({ region: 'a', ...topology, pool: worker.backends });
    storeX = await SessionStore.connect({ region: 'x', ...topology, pool: worker.backends });
  });

  after(async () => {
    await storeA?.close();
    await storeX?.close();
    worker?.shutdown();
    await running;
    own.down();
  });

  it('fast-path calls use the worker’s guards and show on its /metrics with their backend', async () => {
    assert.equal(
      storeA.backends.get('a0')!.guard,
      worker.backends.guard('a0'),
      'the guard the worker’s activities use',
    );
    const session = await storeA.createSession({ userId: uniqueName('user') }, { ttlSeconds: 60 });
    const before = scrapedValue((await get('/metrics')).body, 'prism_driver_operations_total', {
      backend: 'a0',
      operation: 'keyvalue_cas.getVersioned',
      status: 'ok',
    });
    await storeA.getSession(session.sessionId);
    await storeA.getSession(session.sessionId);
    const metrics = (await get('/metrics')).body;
    const reads = scrapedValue(metrics, 'prism_driver_operations_total', {
      backend: 'a0',
      driver: 'redis',
      operation: 'keyvalue_cas.getVersioned',
      status: 'ok',
    });
    assert.equal(reads - before, 2);
    assert.ok(
      scrapedValue(metrics, 'prism_driver_operations_total', {
        backend: 'a0',
        operation: 'changefeed.compareAndSetLogged',
      }) >= 1,
    );
    assert.deepEqual(JSON.parse((await get('/health')).body), { status: 'OK', openBreakers: [] });
  });

  it('a breaker opened by fast-path failures shows on /health as DEGRADED', async () => {
    const session = await storeX.createSession({ userId: uniqueName('user') }, { ttlSeconds: 60 });
    own.down();
    for (let i = 0; i < 2; i++) {
      await assert.rejects(storeX.getSession(session.sessionId), (err: unknown) => isDriverError(err) && err.retryable);
    }
    await assert.rejects(storeX.getSession(session.sessionId), CircuitOpenError);
    const health = await get('/health');
    assert.equal(health.status, 503);
    assert.deepEqual(JSON.parse(health.body), { status: 'DEGRADED', openBreakers: ['x0'] });
    const metrics = (await get('/metrics')).body;
    assert.equal(scrapedValue(metrics, 'prism_circuit_breaker_state', { backend: 'x0' }), 2);
    assert.equal(scrapedValue(metrics, 'prism_driver_operations_total', { backend: 'x0', status: 'circuit_open' }), 1);
  });
});
