// One example of each built-in pattern against the demo worker (config/demo.yaml), with links to
// the executions in the Temporal UI.
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { MulticastRegistryClient } from '../src/client/multicast-registry';
import { PrismClient } from '../src/client/prism-client';
import { SessionStore } from '../src/client/session-store';
import { Client } from 'pg';
import { pipelineWorkflowId } from '../src/cli/commands/cdc';
import { loadConfig } from '../src/config/load';
import { pipelineStatus } from '../src/client/cdc';
import type { CdcStatus } from '../src/workflows/cdc/logic';
import { feedReplicationWorkflowId } from '../src/workflows/session-store/input';

const CONFIG = resolve(__dirname, '../../config/demo.yaml');
const DEMO_PG = process.env.PRISM_POSTGRES_URL ?? 'postgres://prism:prism@127.0.0.1:5432/prism';
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
      // Said replicated only once region us holds the same copy; the link is the workflow shipping
      // the session's eu shard to us.
      let inUs = false;
      for (let i = 0; i < 60 && !inUs; i++) {
        inUs = (await sessions.replicationStatus(session.sessionId)).regions.us?.inSync ?? false;
        if (!inUs) await new Promise((r) => setTimeout(r, 500));
      }
      const shipping = feedReplicationWorkflowId(
        config.temporal.task_queue,
        sessions.shardFor(session.sessionId).backend,
        'us',
      );
      out(
        `session-store       session ${session.sessionId} in eu, ${inUs ? 'replicated to us' : 'not yet in us after 30 s'}: ${client.uiUrl(shipping)}`,
      );
    } finally {
      await sessions.close();
    }
    // CDC: a long-running pipeline from a demo table to Kafka; reused if it already runs.
    const pg = new Client({ connectionString: DEMO_PG });
    await pg.connect();
    try {
      await pg.query(
        'CREATE TABLE IF NOT EXISTS public.cdc_demo_customers (id int PRIMARY KEY, name text, email text)',
      );
      const workflowId = pipelineWorkflowId('demo');
      let handle = client.handle(workflowId);
      const running = await handle.describe().then(
        (d) => d.status.name === 'RUNNING',
        () => false,
      );
      if (!running) {
        const input = {
          pipeline: 'demo',
          tables: ['public.cdc_demo_customers'],
          transforms: [{ tables: ['cdc_demo_customers'], mask: ['email'] }],
        };
        handle = (await client.start('cdcPipelineWorkflow', [input], { pattern: 'cdc', workflowId })).handle;
      }
      // Changes count from when the replication slot exists: the pipeline leaves 'starting' then.
      let ready = await handle.query<CdcStatus>('status');
      for (let i = 0; i < 100 && ready.state === 'starting'; i++) {
        await new Promise((r) => setTimeout(r, 300));
        ready = await handle.query<CdcStatus>('status');
      }
      const before = ready.totals.eventsDelivered;
      const base = Math.floor(Date.now() / 1000) * 10;
      await pg.query(
        "INSERT INTO public.cdc_demo_customers SELECT g, 'customer ' || g, g || '@example.org' FROM generate_series($1::int, $1::int + 2) g",
        [base % 2_000_000_000],
      );
      // pipelineStatus counts in the streaming round in flight (the workflow records rounds as they end).
      let status = await pipelineStatus(handle);
      for (let i = 0; i < 100 && status.totals.eventsDelivered < before + 3; i++) {
        await new Promise((r) => setTimeout(r, 300));
        status = await pipelineStatus(handle);
      }
      out(`cdc                 ${client.uiUrl(workflowId)}`);
      out(
        `                    ${status.totals.eventsDelivered} events delivered to Kafka, last LSN ${status.lastLsn}, lag ${status.lagSeconds.toFixed(2)} s`,
      );
    } finally {
      await pg.end();
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
