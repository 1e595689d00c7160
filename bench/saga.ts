// Order saga vs the same three activities without the saga machinery, in the same run against the
// same Temporal server, worker and backends (reserve + charge on Postgres, publish on Kafka).
//   npm run build && node dist/bench/saga.js [workflows per round] [concurrency] [rounds]
// Each round runs the plain workflow then the saga, `count` executions each with `concurrency` in
// flight; sagas/s are completed executions per second of wall time (start to result).
import { randomUUID } from 'node:crypto';
import { PrismClient } from '../src/client/prism-client';
import type { OrderSagaInput } from '../src/workflows/saga/order-input';
import { sagaWorkerConfig } from '../test/helpers/saga-env';
import { startWorker } from '../test/helpers/worker-process';

async function measure(
  client: PrismClient,
  workflow: 'orderSagaWorkflow' | 'orderPlainWorkflow',
  count: number,
  concurrency: number,
  topic: string,
): Promise<{ perSecond: number; p50: number; p99: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = Date.now();
  const lane = async (): Promise<void> => {
    while (next < count) {
      next++;
      const id = randomUUID();
      const input: OrderSagaInput = {
        orderId: id,
        sku: `bench-${id}`,
        quantity: 1,
        customer: `bench-${id}`,
        amount: 100,
        topic,
        cache: false, // the 3-step example: reserve, charge, publish
        openingStock: 10,
        openingBalance: 1000,
      };
      const t = Date.now();
      const s = await client.start(workflow, [input], { pattern: 'saga' });
      const result = (await s.handle.result()) as { status: string };
      if (result.status !== 'completed') throw new Error(`${workflow} ${id} ended ${result.status}`);
      latencies.push(Date.now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const seconds = (Date.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  return { perSecond: count / seconds, p50: pct(0.5), p99: pct(0.99) };
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 200);
  const concurrency = Number(process.argv[3] ?? 20);
  const rounds = Number(process.argv[4] ?? 2);
  const taskQueue = `bench-saga-${randomUUID().slice(0, 8)}`;
  const topic = `bench-saga-${randomUUID().slice(0, 8)}`;
  const worker = await startWorker(sagaWorkerConfig(taskQueue));
  const client = await PrismClient.connect({ taskQueue });
  try {
    await measure(client, 'orderPlainWorkflow', Math.min(20, count), concurrency, topic); // warm up
    await measure(client, 'orderSagaWorkflow', Math.min(20, count), concurrency, topic);
    for (let round = 1; round <= rounds; round++) {
      for (const workflow of ['orderPlainWorkflow', 'orderSagaWorkflow'] as const) {
        const r = await measure(client, workflow, count, concurrency, topic);
        process.stdout.write(
          `round ${round}  ${workflow.padEnd(20)} ${r.perSecond.toFixed(1).padStart(6)} /s   ` +
            `p50 ${r.p50} ms   p99 ${r.p99} ms   (n=${count}, concurrency ${concurrency})\n`,
        );
      }
    }
  } finally {
    await client.close();
    await worker.stop();
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
