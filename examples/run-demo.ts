// One example of each built-in pattern against the demo worker (config/demo.yaml), with links to
// the executions in the Temporal UI.
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { MulticastRegistryClient } from '../src/client/multicast-registry';
import { PrismClient } from '../src/client/prism-client';
import { SessionStore } from '../src/client/session-store';
import { loadConfig } from '../src/config/load';
import { replicationWorkflowId } from '../src/workflows/session-store/input';

const CONFIG = resolve(__dirname, '../../config/demo.yaml');
const out = (line: string): boolean => process.stdout.write(line + '\n');

async function main(): Promise<void> {
  const config = loadConfig(process.env.PRISM_CONFIG ?? CONFIG);
  const client = await PrismClient.connect({ taskQueue: config.temporal.task_queue, config });
  const run = randomUUID().slice(0, 8);
  try {
    const probe = await client.start('kvProbeWorkflow', [{ key: `demo:${run}`, value: 'hello from prism' }], {
      pattern: 'kv-probe',
    });
    out(`kv-probe            ${probe.uiUrl}`);
    out(`                    ${JSON.stringify(await probe.handle.result())}`);

    const registry = new MulticastRegistryClient(client, `demo-${run}`);
    for (const [id, region] of [
      ['web-1', 'eu'],
      ['web-2', 'eu'],
      ['web-3', 'us'],
    ]) {
      await registry.register(id, { region, tier: 2 }, { ttlSeconds: 600 });
    }
    const multicast = await registry.startMulticast({ region: 'eu' }, 'drain at 18:00');
    out(`multicast-registry  ${multicast.uiUrl}`);
    const report = await multicast.result();
    out(`                    ${report.targetCount} targets, ${report.delivered} delivered, ${report.failed} failed`);

    const saga = await client.start(
      'orderSagaWorkflow',
      [
        {
          orderId: `order-${run}`,
          sku: 'blue-mug',
          quantity: 2,
          customer: 'alice',
          amount: 2400,
          openingStock: 100,
          openingBalance: 100_000,
        },
      ],
      { pattern: 'saga' },
    );
    out(`saga                ${saga.uiUrl}`);
    out(`                    ${JSON.stringify(((await saga.handle.result()) as { status: string }).status)}`);

    const sessions = await SessionStore.fromConfig(config, { region: 'eu', replication: { client: client.temporal } });
    try {
      const session = await sessions.createSession({ userId: 'alice', clientId: 'web' }, { ttlSeconds: 600 });
      await sessions.setData(session.sessionId, 'cart', { items: 2 });
      out(
        `session-store       session ${session.sessionId} in eu, replicated to us: ${client.uiUrl(replicationWorkflowId(session.sessionId))}`,
      );
    } finally {
      await sessions.close();
    }
    out('');
    out(`All executions: ${client.uiBase}/namespaces/${client.namespace}/workflows`);
    out('Stop the demo worker with: scripts/demo stop');
  } finally {
    await client.close();
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${(err as Error).message}\n`);
  process.exit(1);
});
