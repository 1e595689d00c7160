// The order saga on the real stack (orders: Postgres, events: Kafka, cache: Redis): the happy
// path, a failure injected at each step in turn (by the test worker's fault interceptor, never by
// input), the pivot, a compensation that gives up, a re-submitted orderId, and a replay of the
// recorded histories. Every effect is checked in the backend that holds it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import { PrismClient } from '../../../src/client/prism-client';
import { SagaClient } from '../../../src/client/saga';
import { PAYLOAD_CONVERTER, PREBUILT_BUNDLE } from '../../../src/runtime/workflow-bundle';
import { ORDER_STEPS, type OrderSagaInput } from '../../../src/workflows/saga/input';
import { orderKeys } from '../../../src/workflows/saga/input';
import type { OrderSagaResult } from '../../../src/workflows/saga/workflow';
import type { SagaState } from '../../../src/workflows/saga/logic';
import type { SagaResult } from '../../../src/workflows/saga/run-saga';
import { uniqueName } from '../../helpers/env';
import { writeSagaFaults, type SagaFaults } from '../../fixtures/saga-faults/interceptor';
import { orderInput, SagaBackends, sagaFaultsDir, startSagaFaultWorker } from '../../helpers/saga-env';
import { waitFor, type WorkerProcess } from '../../helpers/worker-process';

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

/** An event's summary (user metadata, a JSON payload) as the Temporal UI shows it. */
function summaryOf(event: HistoryEvent): string {
  const data = event.userMetadata?.summary?.data;
  return data ? (JSON.parse(Buffer.from(data).toString('utf8')) as string) : '';
}

/** The types of the local activities a history records, in order. */
function localActivities(events: HistoryEvent[]): string[] {
  return events.flatMap((e) => {
    if (e.markerRecordedEventAttributes?.markerName !== 'core_local_activity') return [];
    const data = e.markerRecordedEventAttributes.details?.data?.payloads?.[0]?.data;
    return data ? [(JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type: string }).activity_type] : [];
  });
}

describe('order saga on Postgres, Kafka and Redis', () => {
  const taskQueue = uniqueName('saga');
  let worker: WorkerProcess;
  let client: PrismClient;
  let backends: SagaBackends;
  const recorded: { name: string; handle: WorkflowHandle }[] = [];
  const faultsDir = sagaFaultsDir();

  before(async () => {
    worker = await startSagaFaultWorker(taskQueue, faultsDir);
    client = await PrismClient.connect({ taskQueue });
    backends = new SagaBackends();
  });

  after(async () => {
    await client?.close();
    await backends?.close();
    await worker?.stop();
  });

  /** Starts an order, with faults for the test worker's interceptor when given. */
  async function startOrder(input: OrderSagaInput, faults?: SagaFaults): Promise<WorkflowHandle> {
    const workflowId = uniqueName('saga-order');
    if (faults) writeSagaFaults(faultsDir, workflowId, faults);
    const started = await new SagaClient(client).startOrder(input, { workflowId });
    recorded.push({ name: `${input.orderId} (${workflowId})`, handle: started.handle });
    return started.handle;
  }

  async function runOrder(
    input: OrderSagaInput,
    faults?: SagaFaults,
  ): Promise<{ handle: WorkflowHandle; result: OrderSagaResult }> {
    const handle = await startOrder(input, faults);
    return { handle, result: (await handle.result()) as OrderSagaResult };
  }

  it('completes: every effect applied once, status completed by query, result and search attribute', async () => {
    const input = orderInput();
    const { handle, result } = await runOrder(input);
    assert.equal(result.status, 'completed');
    assert.deepEqual(
      Object.values(result.steps).map((s) => s.status),
      ['completed', 'completed', 'completed', 'completed'],
    );
    assert.equal(await backends.stock(input.sku), 8);
    assert.equal(await backends.balance(input.customer), 500);
    assert.deepEqual(await backends.events(input.topic!), ['OrderPlaced']);
    assert.deepEqual(JSON.parse((await backends.cached(input.orderId))!), {
      orderId: input.orderId,
      sku: input.sku,
      quantity: 2,
      amount: 500,
    });
    // Idempotency keys come from the orderId, not the workflow id: a re-submission shares them.
    assert.deepEqual(await backends.changes(orderKeys.stock(input.sku)), [`${input.orderId}:reserve:reserveStock`]);
    const state = await handle.query<SagaState>('sagaStatus');
    assert.equal(state.status, 'completed');
    const d = await handle.describe();
    assert.equal(d.typedSearchAttributes.get({ name: 'PrismStatus', type: 'KEYWORD' } as never), 'completed');
    assert.equal(d.typedSearchAttributes.get({ name: 'PrismProgress', type: 'INT' } as never), 4);
    // What the Temporal UI shows of the execution: the order in its memo and its one-line summary.
    assert.equal(d.memo?.orderId, input.orderId);
    assert.equal(await d.staticSummary(), `order ${input.orderId}: 2 × ${input.sku} for ${input.customer}, 500 cents`);
  });

  it('looks its outcome up and records it as local activities, through the orders backend guard', async () => {
    const input = orderInput();
    const { handle, result } = await runOrder(input);
    assert.equal(result.status, 'completed');
    const events = (await handle.fetchHistory()).events ?? [];
    const scheduled = events.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
    assert.deepEqual(scheduled, [
      'saga.orders.reserveStock',
      'saga.orders.charge',
      'saga.events.publishEvent',
      'saga.cache.cacheOrder',
    ]);
    assert.deepEqual(localActivities(events), [
      'prism.resolveSlots',
      'saga.orders.orderOutcome',
      'saga.orders.recordOrderOutcome',
    ]);
    // The guard counted both calls on the pg backend, as it counts the backend worker's activities.
    const metrics = await (await fetch(`http://127.0.0.1:${worker.httpPort}/metrics`)).text();
    for (const operation of ['saga.orders.orderOutcome', 'saga.orders.recordOrderOutcome']) {
      const line = new RegExp(
        `^prism_driver_operations_total\\{[^}]*backend="pg"[^}]*operation="${operation.replaceAll('.', '\\.')}"[^}]*status="ok"[^}]*\\} (\\d+)$`,
        'm',
      ).exec(metrics);
      assert.ok(line && Number(line[1]) >= 1, `${operation} counted by the pg guard`);
    }
  });

  it('a failure injected at each step in turn compensates exactly the steps completed before it', async () => {
    const runs = await Promise.all(
      ORDER_STEPS.map(async (failing, index) => {
        const input = orderInput();
        return { failing, index, input, ...(await runOrder(input, { failStep: failing })) };
      }),
    );
    for (const { failing, index, input, result } of runs) {
      const what = `failing at ${failing}`;
      assert.equal(result.status, 'compensated', what);
      assert.equal(result.failure?.step, failing, what);
      assert.match(result.failure?.error ?? '', /InjectedFault: injected fault/, what);
      assert.deepEqual(
        ORDER_STEPS.map((s) => result.steps[s].status),
        // A failed reserve, charge or cache is compensated too, and its undo finds nothing applied:
        // reported as skipped; a failed publish is not compensated.
        ORDER_STEPS.map((s, i) =>
          i < index ? 'compensated' : i === index ? (s === 'publish' ? 'failed' : 'skipped') : 'pending',
        ),
        what,
      );
      if (failing !== 'publish') assert.match(result.steps[failing].skipReason ?? '', /^nothing to undo: /, what);
      // The fault strikes before the effect: a step that failed left nothing behind.
      assert.equal(await backends.stock(input.sku), index === 0 ? undefined : 10, what);
      assert.equal(await backends.balance(input.customer), index <= 1 ? undefined : 1000, what);
      assert.equal(await backends.eventCount(input.topic!), index === 3 ? 2 : 0, what);
      assert.equal(await backends.cached(input.orderId), null, what);
      if (index > 0) {
        assert.deepEqual(
          await backends.changes(orderKeys.stock(input.sku)),
          [`${input.orderId}:reserve:releaseStock`, `${input.orderId}:reserve:reserveStock`],
          `${what}: reserve and release, once each`,
        );
      }
    }
    const last = runs[3];
    assert.deepEqual(await backends.events(last.input.topic!), ['OrderPlaced', 'OrderCancelled']);
    const undone = ((await runs[2].handle.fetchHistory()).events ?? [])
      .filter((e) => e.activityTaskScheduledEventAttributes)
      .map(summaryOf);
    const id = runs[2].input.orderId;
    assert.deepEqual(
      undone.filter((summary) => summary.includes('undo')),
      [`saga ${id}: undo charge`, `saga ${id}: undo reserve`],
      'compensations are summarised as undoing their step, last first',
    );
  });

  it('after the pivot a failing step retries forward and nothing is compensated', async () => {
    // The cache action fails 4 calls: its policy (3 attempts) gives up once, the saga retries it forward.
    const input = orderInput({ pivot: 'publish' });
    const { handle, result } = await runOrder(input, { failStep: 'cache', failTimes: 4 });
    assert.equal(result.status, 'completed');
    assert.equal(result.failure, undefined);
    assert.equal(result.steps.cache.attempts, 2);
    // Five calls, two rounds, two scheduled activities: the forward round's own retries (without
    // limit) happen server side and add nothing to the history.
    const events = (await handle.fetchHistory()).events ?? [];
    const scheduled = events.filter(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'saga.cache.cacheOrder',
    );
    assert.equal(scheduled.length, 2);
    assert.equal(scheduled[1]!.activityTaskScheduledEventAttributes?.retryPolicy?.maximumAttempts ?? 0, 0);
    // What the Temporal UI shows on each: the saga (its orderId) and the step, the round when forward.
    assert.deepEqual(scheduled.map(summaryOf), [
      `saga ${input.orderId}: cache`,
      `saga ${input.orderId}: cache (forward retry round 2)`,
    ]);
    assert.equal(result.steps.cache.status, 'completed');
    assert.equal(await backends.stock(input.sku), 8);
    assert.equal(await backends.balance(input.customer), 500);
    assert.equal(await backends.eventCount(input.topic!), 1);
    assert.notEqual(await backends.cached(input.orderId), null);
  });

  it('with the default action retry, a backend failing for a few seconds delays the order instead of cancelling it', async () => {
    // No actionAttempts: the production default retries transient failures for actionRetrySeconds.
    const { actionAttempts: _short, ...input } = orderInput();
    const { handle, result } = await runOrder(input, { failStep: 'charge', failTimes: 5 });
    assert.equal(result.status, 'completed');
    assert.equal(result.steps.charge.status, 'completed');
    assert.equal(result.steps.charge.attempts, 1, 'one scheduled attempt: the retries stayed inside its policy');
    const charged = ((await handle.fetchHistory()).events ?? []).find(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'saga.orders.charge',
    )?.activityTaskScheduledEventAttributes;
    assert.equal(charged?.retryPolicy?.maximumAttempts ?? 0, 0);
    assert.equal(Number(charged?.scheduleToCloseTimeout?.seconds), 120);
    assert.equal(await backends.balance(input.customer), 500);
  });

  it('a compensation that keeps failing ends in compensation_failed, by query, result and search attribute', async () => {
    const input = orderInput({ compensationAttempts: 2 });
    const { handle, result } = await runOrder(input, { failStep: 'cache', failCompensation: 'charge' });
    assert.equal(result.status, 'compensation_failed');
    assert.equal(result.failure?.step, 'cache');
    assert.equal(result.compensationFailure?.step, 'charge');
    assert.match(result.compensationFailure?.error ?? '', /InjectedFault: injected fault in saga\.orders\.refund/);
    assert.deepEqual(
      ORDER_STEPS.map((s) => result.steps[s].status),
      ['completed', 'compensation_failed', 'compensated', 'skipped'],
    );
    // The saga stops at the compensation that gave up: the stock stays reserved for a human to look at.
    assert.equal(await backends.stock(input.sku), 8);
    assert.equal(await backends.balance(input.customer), 500);
    assert.equal(await backends.eventCount(input.topic!), 2);
    const state = await handle.query<SagaState>('sagaStatus');
    assert.equal(state.status, 'compensation_failed');
    assert.equal(state.compensationFailure?.step, 'charge');
    const query = `PrismStatus = 'compensation_failed' AND WorkflowId = '${handle.workflowId}'`;
    const listed = await waitFor(
      'the saga to be listed by PrismStatus',
      async () => {
        for await (const w of client.temporal.workflow.list({ query })) return w;
        return undefined;
      },
      30_000,
    );
    assert.equal(listed.workflowId, handle.workflowId);
  });

  it('a cancelled saga compensates what it has done, then ends compensated', async () => {
    const input = orderInput();
    const handle = await startOrder(input, { pauseStep: { step: 'charge', ms: 3_000 } });
    await waitFor('the charge to be applied', async () => (await backends.balance(input.customer)) === 500);
    await handle.cancel();
    const result = (await handle.result()) as SagaResult;
    assert.equal(result.status, 'compensated');
    assert.equal(result.failure?.step, 'charge');
    assert.deepEqual(
      ORDER_STEPS.map((s) => result.steps[s].status),
      ['compensated', 'compensated', 'pending', 'pending'],
    );
    // The charge had been applied when the cancel came: as a compensateOnFailure step it is refunded.
    assert.equal(await backends.balance(input.customer), 1000);
    assert.equal(await backends.stock(input.sku), 10);
    assert.equal(await backends.eventCount(input.topic!), 0);
  });

  it('refuses bad input naming the field', async () => {
    const started = await client.start('orderSagaWorkflow', [{ ...orderInput(), quantity: 0 }], { pattern: 'saga' });
    await assert.rejects(started.handle.result(), (err: Error) => {
      const cause = (err as { cause?: { type?: string; message?: string } }).cause;
      assert.equal(cause?.type, 'InvalidInput');
      assert.match(cause?.message ?? '', /input\.quantity/);
      return true;
    });
  });

  it('a re-submitted orderId returns the first outcome and applies nothing again', async () => {
    const input = orderInput();
    const first = await runOrder(input);
    assert.equal(first.result.status, 'completed');
    const again = await runOrder(input);
    assert.notEqual(again.handle.workflowId, first.handle.workflowId);
    assert.equal(again.result.duplicateOf, first.handle.workflowId);
    assert.deepEqual({ ...again.result, duplicateOf: undefined }, { ...first.result, duplicateOf: undefined });
    assert.equal(await backends.balance(input.customer), 500);
    assert.equal(await backends.stock(input.sku), 8);
    assert.equal(await backends.eventCount(input.topic!), 1);
    // The re-submission ran no step: only the outcome lookup (a local activity).
    const events = (await again.handle.fetchHistory()).events ?? [];
    assert.deepEqual(
      events.filter((e) => e.activityTaskScheduledEventAttributes),
      [],
    );
    assert.deepEqual(localActivities(events), ['prism.resolveSlots', 'saga.orders.orderOutcome']);
  });

  it('a compensated order re-submitted stays compensated: the first outcome, nothing applied', async () => {
    const input = orderInput();
    const first = await runOrder(input, { failStep: 'cache' });
    assert.equal(first.result.status, 'compensated');
    const again = await runOrder(input);
    assert.equal(again.result.status, 'compensated');
    assert.equal(again.result.duplicateOf, first.handle.workflowId);
    assert.equal(await backends.balance(input.customer), 1000);
    assert.equal(await backends.eventCount(input.topic!), 2);
  });

  it('refuses testFaults in the input as an unknown field', async () => {
    const input = { ...orderInput(), testFaults: { failStep: 'charge' } };
    const started = await client.start('orderSagaWorkflow', [input], { pattern: 'saga' });
    await assert.rejects(started.handle.result(), (err: Error) => {
      const cause = (err as { cause?: { type?: string; message?: string } }).cause;
      assert.equal(cause?.type, 'InvalidInput');
      assert.match(cause?.message ?? '', /testFaults/);
      return true;
    });
  });

  it('replays every recorded history deterministically', async () => {
    assert.ok(recorded.length >= 6);
    for (const { name, handle } of recorded) {
      const history = await handle.fetchHistory();
      await assert.doesNotReject(
        Worker.runReplayHistory(
          { workflowBundle: { codePath: PREBUILT_BUNDLE }, dataConverter: { payloadConverterPath: PAYLOAD_CONVERTER } },
          history,
        ),
        name,
      );
    }
  });
});
