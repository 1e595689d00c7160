// The registry's Redis restarts in the middle of a multicast (its data kept on disk): a SCAN
// cursor means nothing to the new server process, yet every registered identity is still reached
// (heard by a raw NATS subscriber started before the multicast) and the report counts each
// distinct identity once. Redis and the worker's task queue are this test's own; NATS is shared
// (a subject prefix of its own).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MulticastRegistryClient } from '../../../src/client/multicast-registry';
import { uniqueName } from '../../helpers/env';
import { ExtraRedis } from '../../helpers/extra-redis';
import { redisNats } from './stacks';
import { populate, reportedTargets, StackWorker } from './support';

const TARGETS = 3_000;

describe('multicast registry: the registry server restarts mid-multicast', () => {
  const server = new ExtraRedis('mcr-restart', Number(process.env.PRISM_TEST_MCR_REDIS_PORT ?? 16602));
  const stack = { ...redisNats(server.url), targets: TARGETS };
  const setup = new StackWorker(stack, 'mcr-restart');
  before(async () => {
    server.up();
    await setup.start();
  });
  after(async () => {
    await setup.stop();
    server.down();
  });

  it(`${TARGETS} targets: every identity reached, each counted once`, async () => {
    const registry = new MulticastRegistryClient(setup.prism, uniqueName('mr'), { direct: setup.driver });
    const expected = await populate(registry, TARGETS);
    const listener = await stack.listen(`multicast.${registry.registry}.`);
    try {
      // Small pages: enumeration goes on for most of the multicast, so the restart falls inside it.
      const handle = await registry.startMulticast({ group: 'a' }, 'after a restart', {
        batchSize: 50,
        concurrency: 4,
        pageSize: 50,
      });
      let atRestart = await handle.report();
      while (atRestart.delivered < TARGETS / 5 && !atRestart.done) {
        await new Promise((r) => setTimeout(r, 20));
        atRestart = await handle.report();
      }
      // Asynchronously, so the subscriber keeps listening while Redis is down.
      await server.stopAsync();
      await server.startAsync();
      assert.ok(
        atRestart.targetCount < TARGETS,
        `enumeration was under way at the restart (${atRestart.targetCount} of ${TARGETS} enumerated)`,
      );

      const report = await handle.result();
      const received = await listener.collect(expected.length, 60_000);
      const missing = expected.filter((id) => !received.counts.has(id));
      const repeats = [...received.counts.values()].filter((n) => n > 1).length;
      process.stdout.write(
        `# restart after ${atRestart.delivered} delivered, ${atRestart.targetCount} enumerated; ` +
          `heard ${received.counts.size} distinct, ${repeats} more than once, ${missing.length} never\n`,
      );
      assert.deepEqual(missing.slice(0, 10), [], `${missing.length} registered identities never heard`);
      assert.deepEqual(
        [...received.counts.keys()].filter((id) => !expected.includes(id)),
        [],
        'only matching identities',
      );
      assert.equal(report.done, true);
      assert.equal(report.targetCount, expected.length, 'targetCount: distinct registered identities');
      assert.equal(report.delivered, expected.length, 'delivered: each distinct identity once');
      assert.equal(report.failed, 0);
      assert.equal(report.pending, 0);
      const reported = (await reportedTargets(registry, report)).map((s) => s.identity);
      assert.equal(reported.length, expected.length, 'every identity reported');
      assert.equal(new Set(reported).size, reported.length, 'no identity reported twice');
    } finally {
      await listener.close();
    }
  });
});
