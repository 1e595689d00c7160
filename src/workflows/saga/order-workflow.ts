// The order example: reserve stock and charge (the orders slot: Postgres), publish OrderPlaced
// (events: Kafka), cache the order (cache: Redis) — each with its compensation — as a saga. Next
// to it, the same first three activities without the saga machinery, for the benchmark.
import { ApplicationFailure } from '@temporalio/workflow';
import { parseInput } from '../input';
import { bindSlots, useSlotActivities } from '../slots';
import type { SlotBinding } from '../../sdk/slot';
import { type Fault, type CacheActivities, type EventsActivities, type OrdersActivities } from './order-types';
import { orderSagaInput, type OrderSagaInput, type OrderSagaSettings, type OrderStep } from './order-input';
import { runSaga, step, type SagaResult, type StepOptions } from './saga';
import { SAGA } from './slots';

const ACTION: StepOptions = {
  timeout: '30s',
  retry: { initialInterval: '200ms', maximumInterval: '2s', maximumAttempts: 3 },
};

function compensation(input: OrderSagaSettings, s: OrderStep): StepOptions {
  const paused = input.testFaults?.pauseCompensation?.step === s;
  return {
    timeout: '30s',
    // Only a pausing (heartbeating) compensation gets a heartbeat timeout: a killed worker's attempt is retried soon.
    ...(paused ? { heartbeatTimeout: '2s' } : {}),
    retry: { initialInterval: '200ms', maximumInterval: '5s', maximumAttempts: input.compensationAttempts },
  };
}

function actionFault(input: OrderSagaSettings, s: OrderStep): Fault | undefined {
  const f = input.testFaults;
  if (f?.failStep === s) return { times: f.failTimes };
  if (f?.pauseStep?.step === s) return { pauseAfterApplyMs: f.pauseStep.ms };
  return undefined;
}

function compensationFault(input: OrderSagaSettings, s: OrderStep): Fault | undefined {
  const f = input.testFaults;
  if (f?.failCompensation === s) return { times: f.failCompensationTimes };
  if (f?.pauseCompensation?.step === s) return { pauseAfterApplyMs: f.pauseCompensation.ms };
  return undefined;
}

function required(binding: SlotBinding | undefined, slot: string): SlotBinding {
  if (!binding) throw ApplicationFailure.nonRetryable(`the saga pattern's "${slot}" slot is not bound`, 'InvalidSaga');
  return binding;
}

export async function orderSagaWorkflow(rawInput: OrderSagaInput): Promise<SagaResult> {
  const input = parseInput(orderSagaInput, rawInput);
  const slots = await bindSlots(SAGA);
  const orders = required(slots.orders, 'orders');
  const events = required(slots.events, 'events');
  const cache = input.cache ? required(slots.cache, 'cache') : undefined;
  const stock = { sku: input.sku, quantity: input.quantity, openingStock: input.openingStock };
  const payment = { customer: input.customer, amount: input.amount, openingBalance: input.openingBalance };
  const order = { orderId: input.orderId, sku: input.sku, quantity: input.quantity, amount: input.amount };
  const pivot = (s: OrderStep): boolean => input.pivot === s;
  // The ledger and cache undos check what was applied, so a failed (timed out, cancelled) action is
  // undone too; a publish cannot tell, so a failed publish is not answered with OrderCancelled.
  const opts = (
    s: OrderStep,
  ): Pick<Parameters<typeof step>[0], 'options' | 'compensationOptions' | 'pivot' | 'compensateOnFailure'> => ({
    options: ACTION,
    compensationOptions: compensation(input, s),
    pivot: pivot(s),
    compensateOnFailure: s !== 'publish',
  });

  const steps = [
    step({
      name: 'reserve',
      ...opts('reserve'),
      action: (c) =>
        useSlotActivities<OrdersActivities>(orders, c.activityOptions).reserveStock(
          c.idempotencyKey,
          stock,
          actionFault(input, 'reserve'),
        ),
      compensate: async (c) => {
        await useSlotActivities<OrdersActivities>(orders, c.activityOptions).releaseStock(
          c.idempotencyKey,
          stock,
          compensationFault(input, 'reserve'),
        );
      },
    }),
    step({
      name: 'charge',
      ...opts('charge'),
      action: (c) =>
        useSlotActivities<OrdersActivities>(orders, c.activityOptions).charge(
          c.idempotencyKey,
          payment,
          actionFault(input, 'charge'),
        ),
      compensate: async (c) => {
        await useSlotActivities<OrdersActivities>(orders, c.activityOptions).refund(
          c.idempotencyKey,
          payment,
          compensationFault(input, 'charge'),
        );
      },
    }),
    step({
      name: 'publish',
      ...opts('publish'),
      action: (c) =>
        useSlotActivities<EventsActivities>(events, c.activityOptions).publishEvent(
          c.idempotencyKey,
          { topic: input.topic, type: 'OrderPlaced', orderId: input.orderId, data: order },
          actionFault(input, 'publish'),
        ),
      compensate: async (c) => {
        await useSlotActivities<EventsActivities>(events, c.activityOptions).publishEvent(
          c.idempotencyKey,
          { topic: input.topic, type: 'OrderCancelled', orderId: input.orderId },
          compensationFault(input, 'publish'),
        );
      },
    }),
  ];
  if (cache) {
    steps.push(
      step({
        name: 'cache',
        ...opts('cache'),
        action: (c) =>
          useSlotActivities<CacheActivities>(cache, c.activityOptions).cacheOrder(
            c.idempotencyKey,
            { orderId: input.orderId, data: order },
            actionFault(input, 'cache'),
          ),
        compensate: (c) =>
          useSlotActivities<CacheActivities>(cache, c.activityOptions).evictOrder(
            c.idempotencyKey,
            { orderId: input.orderId },
            compensationFault(input, 'cache'),
          ),
      }),
    );
  }
  return runSaga({ steps, forwardRetry: { initialIntervalMs: 500, maximumIntervalMs: 10_000 } });
}

/** The benchmark's baseline: the same three activities in a row, no saga state, no compensation. */
export async function orderPlainWorkflow(rawInput: OrderSagaInput): Promise<{ status: 'completed' }> {
  const input = parseInput(orderSagaInput, rawInput);
  const slots = await bindSlots(SAGA);
  const key = (s: string): string => `${input.orderId}:${s}`;
  const options = { startToCloseTimeout: ACTION.timeout, retry: ACTION.retry };
  const orders = useSlotActivities<OrdersActivities>(required(slots.orders, 'orders'), options);
  const events = useSlotActivities<EventsActivities>(required(slots.events, 'events'), options);
  await orders.reserveStock(key('reserve'), {
    sku: input.sku,
    quantity: input.quantity,
    openingStock: input.openingStock,
  });
  await orders.charge(key('charge'), {
    customer: input.customer,
    amount: input.amount,
    openingBalance: input.openingBalance,
  });
  await events.publishEvent(key('publish'), { topic: input.topic, type: 'OrderPlaced', orderId: input.orderId });
  return { status: 'completed' };
}
