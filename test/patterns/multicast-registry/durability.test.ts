// The durability channel on real backends (the same file runs on each stack; the durability slot
// is bound to the registry backend, Redis or PostgreSQL): a multicast with channel `queue` leaves
// exactly one message in each matching identity's queue although nobody was subscribed, `both`
// reaches the live listeners and the queues, a consumer reads and acks through the client (direct
// and through the operation workflow), and a worker SIGKILLed mid-multicast still leaves every
// target's message queued at least once, accounted for in the report.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { MulticastRegistryClient, RegistryError, type QueuedDelivery } from '../../../src/client/multicast-registry';
import { PrismClient } from '../../../src/client/prism-client';
import type { QueueBasic } from '../../../src/drivers/capabilities';
import { PAYLOAD_CONVERTER } from '../../../src/runtime/workflow-bundle';
import { uniqueName } from '../../helpers/env';
import { DIST_ROOT, startWorker, type WorkerProcess } from '../../helpers/worker-process';
import { stacks, workerConfig, type RegistryHandle } from './stacks';
import { assertReportCovers, populate, StackWorker, waitForProgress } from './support';

type QueueDriver = RegistryHandle & QueueBasic;

/** Everything waiting in each identity's queue (read until empty, then acked), 50 identities at a time. */
async function drainInboxes(
  client: MulticastRegistryClient,
  identities: string[],
): Promise<Map<string, QueuedDelivery[]>> {
  const out = new Map<string, QueuedDelivery[]>();
  for (let i = 0; i < identities.length; i += 50) {
    await Promise.all(
      identities.slice(i, i + 50).map(async (identity) => {
        const got: QueuedDelivery[] = [];
        for (;;) {
          const page = await client.receive(identity, { max: 100, visibilityTimeoutMs: 120_000 });
          if (page.length === 0) break;
          got.push(...page);
        }
        for (const m of got) await client.ack(identity, m.receipt);
        out.set(identity, got);
      }),
    );
  }
  return out;
}

function assertQueuedOnce(
  inboxes: Map<string, QueuedDelivery[]>,
  expected: string[],
  payload: string,
  multicastId: string,
) {
  for (const identity of expected) {
    const got = inboxes.get(identity) ?? [];
    assert.equal(got.length, 1, `${identity}: ${got.length} messages queued`);
    assert.equal(got[0].payload, payload);
    assert.equal(got[0].multicastId, multicastId);
    assert.equal(got[0].deliveryCount, 1);
  }
}

for (const stack of stacks()) {
  describe(`multicast registry on ${stack.name}: durability channel`, () => {
    const setup = new StackWorker<QueueDriver>(stack, 'mcr-durable', { durability: true });
    before(() => setup.start());
    after(() => setup.stop());

    it(`channel queue, ${stack.targets} targets, nobody subscribed: each matching queue holds exactly one message`, async () => {
      const registry = new MulticastRegistryClient(setup.prism, uniqueName('mq'), {
        direct: setup.driver,
        inbox: setup.driver,
      });
      const expected = await populate(registry, stack.targets);
      const others = (await registry.enumerate({ group: 'b' }, { limit: 1000 })).identities.map((r) => r.identity);
      const handle = await registry.startMulticast({ group: 'a' }, 'kept for you', {
        channel: 'queue',
        batchSize: 50,
        concurrency: 8,
        pageSize: 250,
      });
      const report = await handle.result();
      await assertReportCovers(registry, report, expected);
      assert.equal(report.channel, 'queue');

      const inboxes = await drainInboxes(registry, [...expected, ...others]);
      assertQueuedOnce(inboxes, expected, 'kept for you', handle.workflowId);
      for (const identity of others) assert.deepEqual(inboxes.get(identity), [], `${identity} did not match`);
      const after = await registry.receive(expected[0]);
      assert.deepEqual(after, [], 'acked messages are gone');

      const history = await handle.handle.fetchHistory();
      // One activity per page (on the registry slot, enqueuing through the durability slot's
      // backend); nothing scheduled on the messaging slot.
      const activities = (history.events ?? [])
        .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
        .filter((n): n is string => n !== undefined && n !== null);
      assert.ok(
        activities.includes('multicast-registry.registry.sendPage') &&
          !activities.some((n) => n.startsWith('multicast-registry.messaging.')),
        `queue only: ${[...new Set(activities)].join(', ')}`,
      );
      await Worker.runReplayHistory(
        {
          workflowBundle: { codePath: `${DIST_ROOT}/workflow-bundle.js` },
          dataConverter: { payloadConverterPath: PAYLOAD_CONVERTER },
        },
        history,
      );
    });

    it('channel both: live listeners and the queues each get exactly the matching set', async () => {
      const registry = new MulticastRegistryClient(setup.prism, uniqueName('mb'), {
        direct: setup.driver,
        inbox: setup.driver,
      });
      const expected = await populate(registry, Math.min(stack.targets, 100));
      const listener = await stack.listen(`multicast.${registry.registry}.`);
      try {
        const report = await registry.multicast({ group: 'a' }, 'twice over', {
          channel: 'both',
          batchSize: 10,
          concurrency: 4,
        });
        await assertReportCovers(registry, report, expected);
        assert.equal(report.channel, 'both');
        const received = await listener.collect(expected.length, 30_000);
        assert.deepEqual([...received.counts.keys()].sort(), expected, 'pubsub: exactly the matching identities');
        assert.deepEqual([...received.payloads], ['twice over']);
        const inboxes = await drainInboxes(registry, expected);
        for (const identity of expected) {
          const got = inboxes.get(identity) ?? [];
          assert.equal(got.length, 1, `${identity}: ${got.length} messages queued`);
          assert.equal(got[0].payload, 'twice over');
        }
      } finally {
        await listener.close();
      }
    });

    // Redis+NATS only: the operation-workflow path is the same code on every stack.
    if (stack.full)
      it('a consumer without a setup.driver receives and acks through the operation workflow', async () => {
        const name = uniqueName('mw');
        const direct = new MulticastRegistryClient(setup.prism, name, { direct: setup.driver });
        const viaWorkflow = new MulticastRegistryClient(setup.prism, name);
        await direct.register('reader', { group: 'a' });
        const report = await direct.multicast({}, '{"n":1}', {
          channel: 'queue',
          contentType: 'application/json',
          queuePrefix: 'inbox.',
        });
        assert.equal(report.delivered, 1);
        assert.deepEqual(await viaWorkflow.receive('reader'), [], 'not under the default prefix');
        const [message, ...rest] = await viaWorkflow.receive('reader', { queuePrefix: 'inbox.', max: 5 });
        assert.deepEqual(rest, []);
        assert.equal(message.payload, '{"n":1}');
        assert.equal(message.contentType, 'application/json');
        await viaWorkflow.ack('reader', message.receipt, { queuePrefix: 'inbox.' });
        assert.deepEqual(await viaWorkflow.receive('reader', { queuePrefix: 'inbox.' }), []);
        await assert.rejects(
          viaWorkflow.receive('reader', { max: 0 }),
          (err: unknown) => err instanceof RegistryError && err.type === 'InvalidInput' && /max/.test(err.message),
        );
      });
  });

  describe(`multicast registry on ${stack.name}: worker SIGKILL mid-multicast, channel queue`, () => {
    let driver: QueueDriver;
    let prism: PrismClient;
    const workers: WorkerProcess[] = [];

    before(async () => {
      driver = (await stack.registryDriver()) as QueueDriver;
    });

    after(async () => {
      await prism?.close();
      for (const w of workers) await w.stop('SIGKILL');
      await driver?.close();
    });

    it('completes on a new worker; every target queued at least once and accounted for', async () => {
      const taskQueue = uniqueName('mcr-qkill');
      const config = workerConfig(taskQueue, stack, {}, { durability: true });
      workers.push(await startWorker(config));
      prism = await PrismClient.connect({ taskQueue });
      const registry = new MulticastRegistryClient(prism, uniqueName('mk'), { direct: driver, inbox: driver });
      const expected = await populate(registry, stack.targets);
      // Small sequential batches, so the fan-out is still running when the worker dies.
      const handle = await registry.startMulticast({ group: 'a' }, 'survive', {
        channel: 'queue',
        batchSize: Math.max(1, Math.floor(stack.targets / 100)),
        concurrency: 1,
        pageSize: Math.max(1, Math.floor(stack.targets / 4)),
      });
      const atKill = await waitForProgress(handle.report, stack);
      await workers[0].stop('SIGKILL');
      process.stdout.write(`# ${stack.name}: worker killed with ${atKill.delivered}/${expected.length} queued\n`);
      assert.ok(!atKill.done, 'killed mid-multicast');

      workers.push(await startWorker(config));
      const report = await handle.result();
      await assertReportCovers(registry, report, expected);
      const inboxes = await drainInboxes(registry, expected);
      for (const identity of expected) {
        const got = inboxes.get(identity) ?? [];
        assert.ok(got.length >= 1, `${identity}: nothing queued`);
        assert.ok(got.every((m) => m.payload === 'survive' && m.multicastId === handle.workflowId));
      }
      const twice = [...inboxes.values()].filter((m) => m.length > 1).length;
      process.stdout.write(`# ${stack.name}: targets queued twice after the kill: ${twice}\n`);
    });
  });
}
