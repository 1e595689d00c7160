// The interceptor on a real Worker against the local Temporal server: an open circuit's
// CircuitOpen failure makes Temporal wait until a probe is allowed, and driver error codes reach
// the workflow as stable, (non-)retryable failure types. Skipped when no server is listening.
import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { Registry } from 'prom-client';
import { DriverError } from '../../src/drivers/errors';
import { createMetrics } from '../../src/observability/metrics';
import { createResilienceInterceptor } from '../../src/resilience/activity-interceptor';
import { BackendGuard } from '../../src/resilience/backend-guard';
import { stackEnv, uniqueName } from '../helpers/env';
import type { GuardedOutcome } from './fixtures/guarded-workflow';
import { resilience } from './helpers';

// Before anything creates the runtime: keep the worker's INFO lines out of the test output.
Runtime.install({ logger: new DefaultLogger('WARN') });

async function reachable(address: string): Promise<boolean> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const socket = createConnection({ host, port: Number(port) });
    socket.setTimeout(1_000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

describe('resilience interceptor on a real worker', async () => {
  const up = await reachable(stackEnv.temporalAddress);
  const taskQueue = uniqueName('resilience-it');
  const metrics = createMetrics(new Registry());
  const guard = new BackendGuard({
    backend: 'flaky',
    driver: 'fake',
    config: resilience({ max_failures: 1, reset_timeout: '1500ms' }, { capacity: 4 }),
    metrics,
  });
  /** per key: the errors to throw on successive attempts before answering */
  const script = new Map<string, DriverError[]>();
  const attempts = new Map<string, number[]>();
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  let connection: Connection | undefined;
  let nativeConnection: NativeConnection | undefined;
  let client: Client;

  before(async () => {
    if (!up) return;
    nativeConnection = await NativeConnection.connect({ address: stackEnv.temporalAddress });
    worker = await Worker.create({
      connection: nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('./fixtures/guarded-workflow'),
      activities: {
        async flakyGet(key: string): Promise<string> {
          attempts.set(key, [...(attempts.get(key) ?? []), Date.now()]);
          const next = script.get(key)?.shift();
          if (next) throw next;
          return `value-of-${key}`;
        },
      },
      interceptors: { activity: [createResilienceInterceptor(guard)] },
      maxConcurrentActivityTaskExecutions: 4,
    });
    running = worker.run();
    connection = await Connection.connect({ address: stackEnv.temporalAddress });
    client = new Client({ connection });
  });

  after(async () => {
    worker?.shutdown();
    await running;
    await connection?.close();
    await nativeConnection?.close();
  });

  const run = (key: string): Promise<GuardedOutcome> =>
    client.workflow.execute('guardedWorkflow', { taskQueue, workflowId: uniqueName(key), args: [key] });

  it(
    'retries after an open circuit when a probe is allowed, then succeeds',
    { skip: !up && 'no Temporal server' },
    async () => {
      script.set('a', [new DriverError('fake', 'Unavailable', 'connection refused')]);
      const outcome = await run('a');
      assert.deepEqual(outcome, { value: 'value-of-a' });
      const times = attempts.get('a') ?? [];
      // attempt 1 fails and opens the circuit; attempt 2 (~50ms later) is refused by the open
      // circuit without running; attempt 3 comes when the circuit allows a probe and succeeds
      assert.equal(times.length, 2, 'the refused attempt never ran the activity');
      assert.ok(times[1] - times[0] >= 1_300, `the probe came ${times[1] - times[0]}ms after the failure`);
      assert.equal(guard.state(), 'closed');
      const [opened] = (await metrics.circuitBreakerTransitionsTotal.get()).values.filter(
        (v) => v.labels.from === 'closed' && v.labels.to === 'open',
      );
      assert.equal(opened?.value, 1);
      const rejected = (await metrics.driverOperationTotal.get()).values.find(
        (v) => v.labels.status === 'circuit_open',
      );
      assert.equal(rejected?.labels.operation, 'flakyGet');
      assert.ok((rejected?.value ?? 0) >= 1);
    },
  );

  it(
    'a permanent driver error fails at once with a Driver<Code> type',
    { skip: !up && 'no Temporal server' },
    async () => {
      script.set('b', [new DriverError('fake', 'InvalidArgument', 'bad key')]);
      const outcome = await run('b');
      assert.deepEqual(outcome, { failureType: 'DriverInvalidArgument', nonRetryable: true });
      assert.equal(attempts.get('b')?.length, 1);
    },
  );
});
