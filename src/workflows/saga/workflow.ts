// The order example: reserve stock and charge (the orders slot: Postgres), publish OrderPlaced
// (events: Kafka), cache the order (cache: Redis) — each with its compensation — as a saga. Next
// to it, the same first three activities without the saga machinery, for the benchmark.
import { ApplicationFailure, CancellationScope, patched, workflowInfo } from '@temporalio/workflow';
import { parseInput } from '../input';
import { bindSlots, useSlotActivities, useSlotLocalActivities } from '../slots';
import type { SlotBinding } from '../../sdk/slot';
import type { CacheActivities } from '../../activities/saga/cache-activities';
import type { EventsActivities } from '../../activities/saga/events-activities';
import type { OrdersActivities } from '../../activities/saga/orders-activities';
import {
  legacyOrderSagaInput,
  orderSagaInput,
  type OrderSagaInput,
  type OrderSagaSettings,
  type OrderStep,
} from './input';
import { runSaga, step, type SagaResult, type StepOptions } from './run-saga';
import { SAGA } from './slots';

// The pattern's third workflow interprets sagas declared as data (its own story, beside this file).
export { declarativeSagaWorkflow } from './declarative-workflow';

/** The order saga's result; duplicateOf names the workflow whose outcome a re-submission returns. */
export type OrderSagaResult = SagaResult & { duplicateOf?: string };

/**
 * Sagas started before this marker keyed their changes by workflow id and recorded no outcome;
 * replaying them keeps doing so. New ones key by orderId and record the outcome.
 */
export const ORDER_KEYS_PATCH = 'order-saga-keyed-by-order-id';

/**
 * Sagas started before this marker looked up and recorded their outcome with activities on the
 * orders backend's task queue and updated PrismStatus/PrismProgress on every change. New ones run
 * both outcome calls as local activities (on the workflow's worker, under the same backend guard:
 * two activity tasks and two workflow tasks fewer) and update the search attributes at most once
 * per workflow task, progress at most every PROGRESS_INTERVAL_MS (three visibility writes fewer
 * for a quick three-step order). It implies ORDER_KEYS_PATCH, whose marker new sagas no longer
 * record (one marker and one TemporalChangeVersion update fewer).
 */
export const LEAN_HISTORY_PATCH = 'order-saga-lean-history';

/** How stale PrismProgress may be while an order runs (its status shows at once). */
const PROGRESS_INTERVAL_MS = 10_000;

/**
 * An action's transient failures (a backend down for a while, an open breaker) are retried for
 * actionRetrySeconds before the saga gives up on it and compensates; a business refusal (out of
 * stock, payment declined) is non-retryable and compensates at once.
 */
function action(input: OrderSagaSettings): StepOptions {
  return {
    timeout: '30s',
    retryFor: `${input.actionRetrySeconds}s`,
    retry: {
      initialInterval: '200ms',
      maximumInterval: '5s',
      // Set either way, so the slot's configured attempts do not cut the window short.
      maximumAttempts: input.actionAttempts > 0 ? input.actionAttempts : Number.POSITIVE_INFINITY,
    },
  };
}

/** Looking up and recording an order's outcome must not give up: the saga's effects depend on it. */
const OUTCOME_OPTIONS = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '200ms', maximumInterval: '10s' },
} as const;

function compensation(input: OrderSagaSettings): StepOptions {
  return {
    timeout: '30s',
    retry: { initialInterval: '200ms', maximumInterval: '5s', maximumAttempts: input.compensationAttempts },
  };
}

function required(binding: SlotBinding | undefined, slot: string): SlotBinding {
  if (!binding) throw ApplicationFailure.nonRetryable(`the saga pattern's "${slot}" slot is not bound`, 'InvalidSaga');
  return binding;
}

/** The body of OrderPlaced and of the cached order. */
function placedOrder(input: OrderSagaSettings): Record<string, unknown> {
  return { orderId: input.orderId, sku: input.sku, quantity: input.quantity, amount: input.amount };
}

export async function orderSagaWorkflow(rawInput: OrderSagaInput): Promise<OrderSagaResult> {
  const lean = patched(LEAN_HISTORY_PATCH);
  const keyedByOrder = lean || patched(ORDER_KEYS_PATCH);
  const input = parseInput(keyedByOrder ? orderSagaInput : legacyOrderSagaInput, rawInput);
  const slots = await bindSlots(SAGA);
  const orders = required(slots.orders, 'orders');
  // An orderId is run once: a re-submission (a client retrying after a timeout, under a new
  // workflow id) gets the first outcome back and applies nothing.
  const outcomes = lean
    ? useSlotLocalActivities<OrdersActivities>(orders, OUTCOME_OPTIONS)
    : useSlotActivities<OrdersActivities>(orders, OUTCOME_OPTIONS);
  if (keyedByOrder) {
    const first = await outcomes.orderOutcome(input.orderId);
    if (first) return { ...first.result, duplicateOf: first.workflowId };
  }
  const events = required(slots.events, 'events');
  const cache = input.cache ? required(slots.cache, 'cache') : undefined;
  const stock = { sku: input.sku, quantity: input.quantity, openingStock: input.openingStock };
  const payment = { customer: input.customer, amount: input.amount, openingBalance: input.openingBalance };
  const order = placedOrder(input);
  const pivot = (s: OrderStep): boolean => input.pivot === s;
  // The ledger and cache undos check what was applied, so a failed (timed out, cancelled) action is
  // undone too; a publish cannot tell, so a failed publish is not answered with OrderCancelled.
  const opts = (
    s: OrderStep,
  ): Pick<Parameters<typeof step>[0], 'options' | 'compensationOptions' | 'pivot' | 'compensateOnFailure'> => ({
    options: action(input),
    compensationOptions: compensation(input),
    pivot: pivot(s),
    compensateOnFailure: s !== 'publish',
  });

  const steps = [
    step({
      name: 'reserve',
      ...opts('reserve'),
      action: (c) =>
        useSlotActivities<OrdersActivities>(orders, c.activityOptions).reserveStock(c.idempotencyKey, stock),
      compensate: (c) =>
        useSlotActivities<OrdersActivities>(orders, c.activityOptions).releaseStock(c.idempotencyKey, stock),
    }),
    step({
      name: 'charge',
      ...opts('charge'),
      action: (c) => useSlotActivities<OrdersActivities>(orders, c.activityOptions).charge(c.idempotencyKey, payment),
      compensate: (c) =>
        useSlotActivities<OrdersActivities>(orders, c.activityOptions).refund(c.idempotencyKey, payment),
    }),
    step({
      name: 'publish',
      ...opts('publish'),
      action: (c) =>
        useSlotActivities<EventsActivities>(events, c.activityOptions).publishEvent(c.idempotencyKey, {
          topic: input.topic,
          type: 'OrderPlaced',
          orderId: input.orderId,
          data: order,
        }),
      compensate: async (c) => {
        await useSlotActivities<EventsActivities>(events, c.activityOptions).publishEvent(c.idempotencyKey, {
          topic: input.topic,
          type: 'OrderCancelled',
          orderId: input.orderId,
        });
      },
    }),
  ];
  if (cache) {
    steps.push(
      step({
        name: 'cache',
        ...opts('cache'),
        action: (c) =>
          useSlotActivities<CacheActivities>(cache, c.activityOptions).cacheOrder(c.idempotencyKey, {
            orderId: input.orderId,
            data: order,
          }),
        compensate: (c) =>
          useSlotActivities<CacheActivities>(cache, c.activityOptions).evictOrder(c.idempotencyKey, {
            orderId: input.orderId,
          }),
      }),
    );
  }
  const result = await runSaga({
    // Idempotency keys `${orderId}:${step}`: the same order's changes, whichever workflow runs them.
    ...(keyedByOrder ? { sagaId: input.orderId } : {}),
    steps,
    forwardRetry: { initialIntervalMs: 500, maximumIntervalMs: 10_000 },
    ...(lean ? { progressIntervalMs: PROGRESS_INTERVAL_MS } : {}),
  });
  if (!keyedByOrder) return result;
  const { workflowId } = workflowInfo();
  // Two submissions running at once both get the outcome recorded first. Recorded even when the
  // saga was cancelled: its compensations ran, that is its outcome.
  const recorded = await CancellationScope.nonCancellable(() =>
    outcomes.recordOrderOutcome(input.orderId, { workflowId, result }),
  );
  return recorded.workflowId === workflowId ? result : { ...recorded.result, duplicateOf: recorded.workflowId };
}

/** The benchmark's baseline: the same three activities in a row, no saga state, no compensation. */
export async function orderPlainWorkflow(rawInput: OrderSagaInput): Promise<{ status: 'completed' }> {
  const input = parseInput(orderSagaInput, rawInput);
  const slots = await bindSlots(SAGA);
  const key = (s: string): string => `${input.orderId}:${s}`;
  const { timeout, retryFor, retry } = action(input);
  const options = { startToCloseTimeout: timeout, scheduleToCloseTimeout: retryFor, retry };
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
  // The saga's event, body included.
  await events.publishEvent(key('publish'), {
    topic: input.topic,
    type: 'OrderPlaced',
    orderId: input.orderId,
    data: placedOrder(input),
  });
  return { status: 'completed' };
}
