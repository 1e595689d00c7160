// The public entries: what they export, and that the workflow entry stays sandbox-safe (no worker,
// client, driver or Node-only module behind it).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runProcess } from '../helpers/worker-process';

describe('public API', () => {
  it('the main entry exports the parts to define patterns, drivers, workers and clients', async () => {
    const api = (await import('../../src/index')) as Record<string, unknown>;
    for (const name of [
      'definePattern',
      'slot',
      'PatternRegistry',
      'builtinPatterns',
      'DriverRegistry',
      'DriverError',
      'requireClient',
      'builtinDrivers',
      'hasCapability',
      'PrismWorker',
      'runWorker',
      'loadConfig',
      'parseConfig',
      'ConfigError',
      'StartupError',
      'PrismClient',
      'SagaClient',
      'BackendPool',
      'PAYLOAD_CONVERTER',
      'CAPABILITIES',
    ]) {
      assert.ok(api[name] !== undefined, `prism-patterns exports ${name}`);
    }
    const { builtinPatterns } = await import('../../src/index');
    assert.ok(builtinPatterns().names().includes('kv-probe'), 'built-in patterns come through the same registry');
  });

  it('the workflow entry exports slot proxies, input parsing and the primitives, and loads nothing Node-only', async () => {
    const script =
      "const w = require('./src/workflow');" +
      "const names = ['bindSlots','useSlot','useSlotActivities','parseInput','PRISM_PATTERN','utf8','slot','fanOut','Pipeline','BoundedChannel'];" +
      'const missing = names.filter((n) => w[n] === undefined);' +
      'const loaded = Object.keys(require.cache).filter((f) => ' +
      '/node_modules\\/(@temporalio\\/(worker|client)|ioredis|pg|kafkajs|@nats-io|prom-client)\\//.test(f) || ' +
      // drivers/capabilities is pure (types and operation names); the rest of drivers/ is not.
      '/dist\\/src\\/(drivers\\/(?!capabilities\\.js)|runtime|client|activities|observability)/.test(f));' +
      'process.stdout.write(JSON.stringify({ missing, loaded }));';
    const result = await runProcess(['-e', script], { cwd: `${__dirname}/../..` });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { missing: [], loaded: [] });
  });
});
