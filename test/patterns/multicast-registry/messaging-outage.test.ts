// NATS stopped mid-multicast and started again: publishes fail, the messaging backend's breaker
// opens, the multicast waits (nothing is marked failed), and once NATS is back it completes with
// every target delivered and accounted for. Keeps the outage short: other tests share NATS.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MulticastRegistryClient } from '../../../src/client/multicast-registry';
import { PrismClient } from '../../../src/client/prism-client';
import { uniqueName } from '../../helpers/env';
import { DIST_ROOT, startWorker, waitFor, type WorkerProcess } from '../../helpers/worker-process';
import { stacks, workerConfig, type RegistryHandle } from './stacks';

const STACK = join(DIST_ROOT, '..', 'scripts/stack');
const stackCommand = (...args: string[]): void => {
  execFileSync(STACK, args, { stdio: 'pipe', timeout: 120_000 });
};

describe('multicast registry: messaging backend outage', () => {
  const stack = stacks().find((s) => s.name === 'redis+nats');
  let driver: RegistryHandle;
  let worker: WorkerProcess;
  let prism: PrismClient;
  let natsDown = false;

  before(async () => {
    if (!stack) return;
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
    if (natsDown) stackCommand('up', 'nats');
    await prism?.close();
    await worker?.stop();
    await driver?.close();
  });

  it('the breaker opens, the multicast waits, then completes with nothing lost', async () => {
    assert.ok(stack, 'the redis+nats stack is defined');
    const registry = new MulticastRegistryClient(prism, uniqueName('mc'), { direct: driver });
    const ids = Array.from({ length: 300 }, (_, i) => `o-${String(i).padStart(4, '0')}`);
    await Promise.all(ids.map((id) => registry.register(id, { group: 'a' })));
    const handle = await registry.startMulticast({ group: 'a' }, 'through the outage', {
      batchSize: 5,
      concurrency: 1,
      retry: { maxAttempts: 3, initialIntervalMs: 200 },
    });
    await waitFor('first deliveries', async () => (await handle.report()).delivered > 0);

    stackCommand('down', 'nats');
    natsDown = true;
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
    process.stdout.write(`# breaker open (${JSON.stringify(health)}) with ${during.delivered}/300 delivered\n`);
    assert.equal(during.done, false, 'the multicast waits');
    assert.equal(during.failed, 0, 'nothing given up while the backend is away');

    stackCommand('up', 'nats');
    natsDown = false;
    const report = await handle.result();
    assert.equal(report.targetCount, 300);
    assert.equal(report.delivered, 300, JSON.stringify(report.statuses.filter((s) => s.status === 'failed')));
    assert.equal(report.failed, 0);
    assert.deepEqual(report.statuses.map((s) => s.identity).sort(), ids);
    const retried = report.statuses.filter((s) => s.attempts > 1).length;
    process.stdout.write(`# targets that needed more than one attempt: ${retried}\n`);
    assert.ok(retried > 0, 'the outage was felt');
  });
});
