// Typed slot proxies for workflow code: `registry.scan(prefix, …)` becomes an activity on the
// registry backend's task queue, with the slot's timeouts and retry policy. A slot can only call
// the operations of the capabilities it declares (a type error otherwise). An element of a list
// slot is a binding like any other: `useSlot(slots.shards[i], spec)` calls that element's backend.
import {
  proxyActivities,
  proxyLocalActivities,
  type ActivityOptions,
  type LocalActivityOptions,
  type RetryPolicy,
} from '@temporalio/workflow';
import { CAPABILITY_OPERATIONS, type Capability, type Ops } from '../drivers/capabilities';
import {
  capabilityActivityName,
  isListSlot,
  patternActivityName,
  RESOLVE_SLOTS_ACTIVITY,
  type BoundSlots,
  type ResolvedSlots,
  type SlotBinding,
  type SlotBindings,
  type SlotSpecs,
} from '../sdk/slot';

type AnyActivity = (...args: unknown[]) => Promise<unknown>;

const local = proxyLocalActivities<Record<string, (pattern: string) => Promise<ResolvedSlots>>>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 3 },
});

/**
 * Resolves the pattern's slot bindings (a local activity; recorded in history).
 *
 * With the pattern's slot specs, the result is typed by them: a list slot is an array of bindings
 * (in config order), an optional slot may be undefined. Without them, only single slots are
 * returned (list slots need their specs: `bindSlots(SESSION_STORE, sessionStoreSlots)`).
 */
export function bindSlots<const S extends SlotSpecs>(pattern: string, slots: S): Promise<BoundSlots<S>>;
export function bindSlots(pattern: string): Promise<SlotBindings>;
export async function bindSlots(pattern: string, slots?: SlotSpecs): Promise<SlotBindings | BoundSlots<SlotSpecs>> {
  const resolved = await local[RESOLVE_SLOTS_ACTIVITY](pattern);
  if (!slots) {
    const singles: SlotBindings = {};
    for (const [name, binding] of Object.entries(resolved)) if (!Array.isArray(binding)) singles[name] = binding;
    return singles;
  }
  const bound: Record<string, SlotBinding | readonly SlotBinding[] | undefined> = {};
  for (const [name, spec] of Object.entries(slots)) {
    const binding = resolved[name];
    // A mismatch means the workflow's specs are not the ones the worker registered: a code bug,
    // so a plain Error (the workflow task retries until the code is fixed), not a failed workflow.
    if (isListSlot(spec)) {
      if (binding !== undefined && !Array.isArray(binding))
        throw new Error(`${pattern}: slot "${name}" is a list slot in the workflow's specs but not on the worker`);
      bound[name] = binding ?? [];
    } else {
      if (Array.isArray(binding))
        throw new Error(`${pattern}: slot "${name}" is a list slot on the worker but not in the workflow's specs`);
      if (binding === undefined && !spec.optional)
        throw new Error(`${pattern}: required slot "${name}" has no binding on this worker`);
      bound[name] = binding;
    }
  }
  return bound as BoundSlots<SlotSpecs>;
}

/** The slot's retry policy with an override's fields on top. */
function slotRetry(binding: SlotBinding, override: RetryPolicy | undefined): RetryPolicy {
  const r = binding.activity.retry;
  // A partial retry override keeps the slot's other fields (its non-retryable types above all).
  return {
    initialInterval: r.initialIntervalMs,
    backoffCoefficient: r.backoffCoefficient,
    maximumInterval: r.maximumIntervalMs,
    // 0 in config means unlimited; the SDK spells that as no maximum.
    maximumAttempts: r.maximumAttempts > 0 ? r.maximumAttempts : undefined,
    nonRetryableErrorTypes: r.nonRetryableErrorTypes,
    ...override,
  };
}

export function activityOptions(binding: SlotBinding, overrides: Partial<ActivityOptions> = {}): ActivityOptions {
  const a = binding.activity;
  return {
    taskQueue: binding.taskQueue,
    startToCloseTimeout: a.startToCloseTimeoutMs,
    heartbeatTimeout: a.heartbeatTimeoutMs,
    ...overrides,
    retry: slotRetry(binding, overrides.retry),
  };
}

/** The capability operations of a slot, as activities. */
export function useSlot<C extends Capability>(
  binding: SlotBinding,
  spec: { readonly requires: readonly C[] },
  overrides: Partial<ActivityOptions> = {},
): Ops<C> {
  const activities = proxyActivities<Record<string, AnyActivity>>(activityOptions(binding, overrides));
  const ops: Record<string, AnyActivity> = {};
  for (const capability of spec.requires) {
    for (const operation of CAPABILITY_OPERATIONS[capability] as readonly string[]) {
      ops[operation] = activities[capabilityActivityName(capability, operation)];
    }
  }
  return ops as unknown as Ops<C>;
}

/** The pattern's activities of a slot by their short names (`reserveStock` for `saga.orders.reserveStock`). */
function byPatternName<A extends object>(binding: SlotBinding, activities: Record<string, AnyActivity>): A {
  return new Proxy({} as A, {
    get: (_target, name) =>
      typeof name === 'string' ? activities[patternActivityName(binding.pattern, binding.slot, name)] : undefined,
  });
}

/** A pattern's own activities for a slot (registered by its definition's slotActivities). */
export function useSlotActivities<A extends object>(binding: SlotBinding, overrides: Partial<ActivityOptions> = {}): A {
  const activities = proxyActivities<Record<string, AnyActivity>>(activityOptions(binding, overrides));
  return byPatternName<A>(binding, activities);
}

/**
 * A pattern's own activities for a single slot, run as local activities: in the workflow's own
 * task on the worker hosting the workflow, under the slot's backend guard there. For short calls
 * where a workflow task and an activity task of their own would cost more than the call (an
 * idempotency record read at the start, written at the end). Not for list slots: their elements
 * share activity names.
 */
export function useSlotLocalActivities<A extends object>(
  binding: SlotBinding,
  overrides: Partial<LocalActivityOptions> = {},
): A {
  // A code bug, so a plain Error (the workflow task retries until the code is fixed).
  if (binding.index !== undefined)
    throw new Error(`slot "${binding.slot}" is a list slot: its activities cannot run locally`);
  const activities = proxyLocalActivities<Record<string, AnyActivity>>({
    startToCloseTimeout: binding.activity.startToCloseTimeoutMs,
    ...overrides,
    retry: slotRetry(binding, overrides.retry),
  });
  return byPatternName<A>(binding, activities);
}
