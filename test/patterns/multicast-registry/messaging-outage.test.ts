// The messaging server stopped mid-multicast and started again: publishes fail, the messaging
// backend's breaker opens, the multicast waits (nothing is marked failed), and once the server is
// back it completes with every target delivered and accounted for. The NATS server is this test's
// own (stopping the shared one would break everyone else's tests); the registry is on the shared
// Redis under a name of its own.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MulticastRegistryClient } from '../../../src/client/multicast-registry';
import { PrismClient } from '../../../src/client/prism-client';
import { stackEnv, uniqueName } from '../../helpers/env';
import { ExtraService } from '../../helpers/extra-service';
import { startWorker, waitFor, type WorkerProcess } from '../../helpers/worker-process';
import { redisNats, workerConfig, type RegistryHandle } from './stacks';
import { reportedTargets } from './support';

const TARGETS = 300;
const NATS_PORT = Number(process.env.PRISM_TEST_MCR_NATS_PORT ?? 21100);

describe('multicast registry: messaging backend outage', () => {
  const nats = new ExtraService('nats', 'mcr-outage-nats', { port: NATS_PORT, secondPort: NATS_PORT + 1 });
  const stack = redisNats(stackEnv.redisUrl, nats.url);
  let driver: RegistryHandle;
  let worker: WorkerProcess;
  let prism: PrismClient;

  before(async () => {
    nats.up();
    const taskQueue = uniqueName('mcr-outage');
    driver = await stack.registryDriver();
    worker = await startWorker(
      workerConfig(taskQueue, stack, {
        // Calls fail fast while NATS is away, and the breaker opens after three of them.
        config: { ...(stack.messagingBackend.config as Record<string, unknown>), timeoutMs: 1000 },
        circuit_breaker: { max_failures: 3, reset_timeout: '2s' },
      }),
    );
    prism = await PrismClient.connect({ taskQueue });
  });

  after(async () => {
    await prism?.close();
    await worker?.stop();
    await driver?.close();
    nats.down();
  });

  it('the breaker opens, the multicast waits, then completes with nothing lost', async () => {
    const registry = new MulticastRegistryClient(prism, uniqueName('mc'), { direct: driver });
    const ids = Array.from({ length: TARGETS }, (_, i) => `o-${String(i).padStart(4, '0')}`);
    await Promise.all(ids.map((id) => registry.register(id, { group: 'a' })));
    // Small pages, one batch at a time: the multicast is well under way when NATS stops.
    const handle = await registry.startMulticast({ group: 'a' }, 'through the outage', {
      batchSize: 5,
      concurrency: 1,
      pageSize: 10,
      retry: { maxAttempts: 3, initialIntervalMs: 200 },
    });
    await waitFor('first deliveries', async () => (await handle.report()).delivered > 0);

    await nats.stopAsync();
    const health = await waitFor(
      'the messaging breaker to open',
      async () => {
        const r = await fetch(`http://127.0.0.1:${worker.httpPort}/health`);
        const body = (await r.json()) as { openBreakers: string[] };
        return body.openBreakers.includes('msg') ? body : undefined;
      },
      60_000,
    );
    const during = await handle.report();
    process.stdout.write(`# breaker open (${JSON.stringify(health)}) with ${during.delivered}/${TARGETS} delivered\n`);
    assert.equal(during.done, false, 'the multicast waits');
    assert.equal(during.failed, 0, 'nothing given up while the backend is away');
    assert.ok(during.delivered < TARGETS, 'the outage began mid-multicast');

    await nats.startAsync();
    const report = await handle.result();
    assert.equal(report.targetCount, TARGETS);
    assert.equal(report.delivered, TARGETS, JSON.stringify(report.statuses.filter((s) => s.status === 'failed')));
    assert.equal(report.failed, 0);
    assert.equal(report.pending, 0);
    const reported = await reportedTargets(registry, report);
    assert.deepEqual(reported.map((s) => s.identity).sort(), ids, 'each target reported once');
    const retried = reported.filter((s) => s.attempts > 1).length;
    process.stdout.write(`# targets that needed more than one attempt: ${retried}\n`);
    assert.ok(retried > 0, 'the outage was felt');
  });
});
