// Multicast on real backends (the same file runs on each stack): independent listeners receive
// exactly the matching set and the report agrees; a worker SIGKILLed mid-fan-out is replaced and
// every target is still delivered and accounted for; at-most-once across continue-as-new; bad
// filters refused before any work; a recorded history replays; the claim marks take one key per
// multicast where the registry's backend keeps maps (Redis), one per target otherwise.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { MulticastRegistryClient, RegistryError } from '../../../src/client/multicast-registry';
import { PrismClient } from '../../../src/client/prism-client';
import { PAYLOAD_CONVERTER } from '../../../src/runtime/workflow-bundle';
import { PRISM_PROGRESS, PRISM_STATUS } from '../../../src/workflows/search-attributes';
import { uniqueName } from '../../helpers/env';
import { DIST_ROOT, startWorker, type WorkerProcess } from '../../helpers/worker-process';
import { stacks, workerConfig, type RegistryHandle } from './stacks';
import { assertMarkKeys, assertReportCovers, populate, StackWorker, waitForProgress } from './support';

for (const stack of stacks()) {
  describe(`multicast registry on ${stack.name}: multicast`, () => {
    const setup = new StackWorker(stack, 'mcr-multicast');
    before(() => setup.start());
    after(() => setup.stop());

    it(`${stack.targets} targets: listeners get exactly the matching set, the report agrees, history replays`, async () => {
      const registry = new MulticastRegistryClient(setup.prism, uniqueName('mc'), { direct: setup.driver });
      const expected = await populate(registry, stack.targets);
      const topicPrefix = `multicast.${registry.registry}.`;
      const listener = await stack.listen(topicPrefix);
      try {
        const started = Date.now();
        const handle = await registry.startMulticast({ group: 'a' }, 'hello targets', {
          batchSize: 50,
          concurrency: 8,
          pageSize: 250,
        });
        const midway = await handle.report();
        assert.equal(midway.delivery, 'at-least-once');
        const report = await handle.result();
        const elapsed = Date.now() - started;
        process.stdout.write(`# ${stack.name}: ${expected.length} targets in ${elapsed} ms\n`);
        await assertReportCovers(registry, report, expected);
        assert.deepEqual(await handle.report(), report, 'the query answers the final report');
        await assertMarkKeys(setup.driver, registry.registry, 1, expected.length);

        const received = await listener.collect(expected.length, 30_000);
        assert.deepEqual([...received.counts.keys()].sort(), expected, 'exactly the matching identities');
        assert.deepEqual([...received.payloads], ['hello targets']);
        const duplicates = [...received.counts.values()].filter((n) => n > 1).length;
        process.stdout.write(`# ${stack.name}: duplicates seen by listeners: ${duplicates}\n`);

        const description = await handle.handle.describe();
        assert.equal(description.typedSearchAttributes.get(PRISM_STATUS), 'completed');
        assert.equal(description.typedSearchAttributes.get(PRISM_PROGRESS), expected.length);

        const history = await handle.handle.fetchHistory();
        await Worker.runReplayHistory(
          {
            workflowBundle: { codePath: `${DIST_ROOT}/workflow-bundle.js` },
            dataConverter: { payloadConverterPath: PAYLOAD_CONVERTER },
          },
          history,
        );
        process.stdout.write(`# ${stack.name}: history of ${history.events?.length} events replayed\n`);
      } finally {
        await listener.close();
      }
    });

    // Redis+NATS only: the Postgres+Kafka stack runs the smaller set above.
    if (stack.full)
      it('at-most-once across continue-as-new: every target delivered once and reported', async () => {
        const registry = new MulticastRegistryClient(setup.prism, uniqueName('mc'), { direct: setup.driver });
        const count = Math.min(stack.targets, 60);
        const expected = await populate(registry, count);
        const listener = await stack.listen(`multicast.${registry.registry}.`);
        try {
          const handle = await registry.startMulticast({ group: { $in: ['a'] }, n: { $gt: 0 } }, 'once', {
            delivery: 'at-most-once',
            pageSize: Math.ceil(count / 3),
            pagesPerRun: 1,
            batchSize: 7,
          });
          const report = await handle.result();
          await assertReportCovers(registry, report, expected);
          assert.equal(report.delivery, 'at-most-once');
          const description = await handle.handle.describe();
          assert.notEqual(description.runId, handle.runId, 'continued as new');
          // The layout is carried: the continued runs mark in the first run's map too.
          await assertMarkKeys(setup.driver, registry.registry, 1, expected.length);
          const received = await listener.collect(expected.length, 30_000);
          assert.deepEqual([...received.counts.keys()].sort(), expected);
          assert.ok(
            [...received.counts.values()].every((n) => n === 1),
            'never twice',
          );
        } finally {
          await listener.close();
        }
      });

    // Redis+NATS only: the Postgres+Kafka stack runs the smaller set above.
    if (stack.full)
      it('an invalid filter is refused before anything starts, naming the offending part', async () => {
        const registry = new MulticastRegistryClient(setup.prism, uniqueName('mc'), { direct: setup.driver });
        await assert.rejects(
          registry.startMulticast({ $and: [{ group: 'a' }, { region: { $in: 'eu' } }] }, 'x'),
          (err: unknown) =>
            err instanceof RegistryError &&
            err.type === 'InvalidInput' &&
            /input\.filter: filter\.\$and\[1\]\.region\.\$in: expected an array/.test(err.message),
        );
        // Started anyway (bypassing the client): the workflow refuses it as its first step.
        const started = await setup.prism.start(
          'multicastWorkflow',
          [{ registry: registry.registry, filter: { tier: { $regex: 'x' } }, payload: 'x' }],
          { pattern: 'multicast-registry' },
        );
        await assert.rejects(started.handle.result(), (err: unknown) => {
          assert.ok(err instanceof WorkflowFailedError);
          assert.match(String(err.cause?.message), /filter\.tier\.\$regex: unknown operator/);
          return true;
        });
      });

    // Redis+NATS only: this worker binds no durability slot.
    if (stack.full)
      it('channel queue or both without a durability slot: refused before any send, naming the field', async () => {
        const registry = new MulticastRegistryClient(setup.prism, uniqueName('mc'), { direct: setup.driver });
        await registry.register('solo', { group: 'a' });
        for (const channel of ['queue', 'both'] as const) {
          const handle = await registry.startMulticast({}, 'x', { channel });
          await assert.rejects(handle.result(), (err: unknown) => {
            assert.ok(err instanceof WorkflowFailedError);
            const cause = err.cause as ApplicationFailure;
            assert.equal(cause.type, 'DurabilityNotConfigured');
            assert.equal(cause.nonRetryable, true);
            assert.match(
              cause.message,
              new RegExp(`^channel: "${channel}" needs the multicast registry's durability slot`),
            );
            assert.match(cause.message, /patterns\.multicast-registry\.slots\.durability/);
            return true;
          });
          const history = await handle.handle.fetchHistory();
          const scheduled = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes);
          assert.equal(scheduled.length, 0, 'nothing enumerated or sent');
        }
        // A consumer's receive through the operation workflow is refused the same way.
        await assert.rejects(
          registry.receive('solo'),
          (err: unknown) =>
            err instanceof RegistryError &&
            err.type === 'DurabilityNotConfigured' &&
            /^op: "receive" needs the multicast registry's durability slot/.test(err.message),
        );
      });
  });

  describe(`multicast registry on ${stack.name}: worker SIGKILL mid-multicast`, () => {
    let driver: RegistryHandle;
    let prism: PrismClient;
    const workers: WorkerProcess[] = [];

    before(async () => {
      driver = await stack.registryDriver();
    });

    after(async () => {
      await prism?.close();
      for (const w of workers) await w.stop('SIGKILL');
      await driver?.close();
    });

    it('the workflow completes on a new worker; every target delivered at least once and accounted for', async () => {
      const taskQueue = uniqueName('mcr-kill');
      workers.push(await startWorker(workerConfig(taskQueue, stack)));
      prism = await PrismClient.connect({ taskQueue });
      const registry = new MulticastRegistryClient(prism, uniqueName('mc'), { direct: driver });
      const expected = await populate(registry, stack.targets);
      const listener = await stack.listen(`multicast.${registry.registry}.`);
      try {
        // Small sequential batches, so the fan-out is still running when the worker dies.
        const handle = await registry.startMulticast({ group: 'a' }, 'survive', {
          batchSize: Math.max(1, Math.floor(stack.targets / 100)),
          concurrency: 1,
          pageSize: Math.max(1, Math.floor(stack.targets / 4)),
        });
        const atKill = await waitForProgress(handle.report, stack);
        await workers[0].stop('SIGKILL');
        process.stdout.write(`# ${stack.name}: worker killed with ${atKill.delivered}/${expected.length} delivered\n`);
        assert.ok(!atKill.done, 'killed mid-multicast');

        workers.push(await startWorker(workerConfig(taskQueue, stack)));
        const report = await handle.result();
        await assertReportCovers(registry, report, expected);
        const received = await listener.collect(expected.length, 30_000);
        assert.deepEqual([...received.counts.keys()].sort(), expected, 'every target received it');
        const again = [...received.counts.values()].filter((n) => n > 1).length;
        process.stdout.write(`# ${stack.name}: targets delivered twice after the kill: ${again}\n`);
      } finally {
        await listener.close();
      }
    });
  });
}
