// The order saga (reserve + charge on Postgres, publish on Kafka) next to a plain workflow calling
// the same three activities, on the same worker, Temporal server and backends. Measured with and
// without a failure at step 3 (publish fails its 3 attempts — actionAttempts 3 — then charge and
// reserve are compensated), at two sizes. The failure comes from the test worker's fault
// interceptor (test/fixtures/saga-faults), never from the input: the same worker runs every
// execution, so the plain workflow pays for the interceptor alike. Both call the activities with
// the same options and arguments on the same task queues. Rates are completed executions per
// second of wall time, with CONCURRENCY executions in flight; each size runs plain, saga, saga,
// plain and counts both runs of each, so a load changing during the case weighs on both alike.
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { PrismClient } from '../../src/client/prism-client';
import type { OrderSagaInput } from '../../src/workflows/saga/input';
import { writeSagaFaults } from '../../test/fixtures/saga-faults/interceptor';
import { sagaFaultsDir, startSagaFaultWorker } from '../../test/helpers/saga-env';
import { percentile } from '../lib/stats';
import type { BenchCase, Measurement } from '../lib/types';

const SIZES = process.env.BENCH_QUICK === '1' ? [30] : [30, 90];
const CONCURRENCY = 20;

type Workflow = 'orderSagaWorkflow' | 'orderPlainWorkflow';

interface Rate {
  perSecond: number;
  p50: number;
  p99: number;
}

interface Run {
  count: number;
  seconds: number;
  latencies: number[];
}

/** Runs of one workflow taken apart in time (plain, saga, saga, plain), as one rate. */
function rateOf(...runs: Run[]): Rate {
  const count = runs.reduce((n, r) => n + r.count, 0);
  const seconds = runs.reduce((n, r) => n + r.seconds, 0);
  const latencies = runs.flatMap((r) => r.latencies);
  return { perSecond: count / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function measure(
  client: PrismClient,
  faultsDir: string,
  workflow: Workflow,
  count: number,
  topic: string,
  failAtStep3 = false,
): Promise<Run> {
  const expected = failAtStep3 ? 'compensated' : 'completed';
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
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
        ...(failAtStep3 ? { actionAttempts: 3 } : {}),
      };
      const workflowId = `bench-saga-${id}`;
      if (failAtStep3) writeSagaFaults(faultsDir, workflowId, { failStep: 'publish' });
      const t = performance.now();
      const s = await client.start(workflow, [input], { pattern: 'saga', workflowId });
      const result = (await s.handle.result()) as { status: string };
      if (result.status !== expected) throw new Error(`${workflow} ${id} ended ${result.status}, expected ${expected}`);
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count) }, lane));
  const seconds = (performance.now() - started) / 1000;
  return { count, seconds, latencies };
}

export const sagaCase: BenchCase = {
  id: 'saga',
  title: 'Saga: 3-step order saga vs a plain workflow',
  async run(): Promise<Measurement[]> {
    const taskQueue = `bench-saga-${randomUUID().slice(0, 8)}`;
    const topic = `bench-saga-${randomUUID().slice(0, 8)}`;
    const faultsDir = sagaFaultsDir();
    const worker = await startSagaFaultWorker(taskQueue, faultsDir);
    const client = await PrismClient.connect({ taskQueue });
    const out: Measurement[] = [];
    try {
      await measure(client, faultsDir, 'orderPlainWorkflow', 10, topic); // warm up
      await measure(client, faultsDir, 'orderSagaWorkflow', 10, topic);
      for (const size of SIZES) {
        const plainFirst = await measure(client, faultsDir, 'orderPlainWorkflow', size, topic);
        const sagaFirst = await measure(client, faultsDir, 'orderSagaWorkflow', size, topic);
        const sagaSecond = await measure(client, faultsDir, 'orderSagaWorkflow', size, topic);
        const plainSecond = await measure(client, faultsDir, 'orderPlainWorkflow', size, topic);
        const plain = rateOf(plainFirst, plainSecond);
        const saga = rateOf(sagaFirst, sagaSecond);
        const failed = rateOf(await measure(client, faultsDir, 'orderSagaWorkflow', size, topic, true));
        const n = size.toLocaleString('en-US');
        const rate = (series: string, ours: Rate): Measurement => ({
          name: `sagas/s, ${series}, ${n} sagas`,
          series,
          unit: 'sagas/s',
          better: 'higher',
          ours: ours.perSecond,
          baseline: plain.perSecond,
          baselineName: 'plain workflow',
          size,
        });
        const latency = (series: string, ours: number, baseline: number): Measurement => ({
          name: `${series}, ${n} sagas`,
          unit: 'ms',
          better: 'lower',
          ours,
          baseline,
          baselineName: 'plain workflow',
          size,
        });
        out.push(
          rate('all steps succeed', saga),
          rate('step 3 fails (compensated)', failed),
          latency('p50 latency, all steps succeed', saga.p50, plain.p50),
          latency('p99 latency, all steps succeed', saga.p99, plain.p99),
          latency('p50 latency, step 3 fails', failed.p50, plain.p50),
        );
      }
    } finally {
      await client.close();
      await worker.stop();
      rmSync(faultsDir, { recursive: true, force: true });
    }
    return out;
  },
};
