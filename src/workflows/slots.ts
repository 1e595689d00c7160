// Typed slot proxies for workflow code: `registry.scan(prefix, …)` becomes an activity on the
// registry backend's task queue, with the slot's timeouts and retry policy. A slot can only call
// the operations of the capabilities it declares (a type error otherwise).
import { proxyActivities, proxyLocalActivities, type ActivityOptions } from '@temporalio/workflow';
import { CAPABILITY_OPERATIONS, type Capability, type Ops } from '../drivers/capabilities';
import {
  capabilityActivityName,
  patternActivityName,
  RESOLVE_SLOTS_ACTIVITY,
  type SlotBinding,
  type SlotBindings,
  type SlotSpec,
} from '../sdk/slot';

type AnyActivity = (...args: unknown[]) => Promise<unknown>;

const local = proxyLocalActivities<Record<string, (pattern: string) => Promise<SlotBindings>>>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 3 },
});

/** Resolves the pattern's slot bindings (a local activity; recorded in history). */
export function bindSlots(pattern: string): Promise<SlotBindings> {
  return local[RESOLVE_SLOTS_ACTIVITY](pattern);
}

export function activityOptions(binding: SlotBinding, overrides: Partial<ActivityOptions> = {}): ActivityOptions {
  const a = binding.activity;
  return {
    taskQueue: binding.taskQueue,
    startToCloseTimeout: a.startToCloseTimeoutMs,
    heartbeatTimeout: a.heartbeatTimeoutMs,
    ...overrides,
    // A partial retry override keeps the slot's other fields (its non-retryable types above all).
    retry: {
      initialInterval: a.retry.initialIntervalMs,
      backoffCoefficient: a.retry.backoffCoefficient,
      maximumInterval: a.retry.maximumIntervalMs,
      // 0 in config means unlimited; the SDK spells that as no maximum.
      maximumAttempts: a.retry.maximumAttempts > 0 ? a.retry.maximumAttempts : undefined,
      nonRetryableErrorTypes: a.retry.nonRetryableErrorTypes,
      ...overrides.retry,
    },
  };
}

/** The capability operations of a slot, as activities. */
export function useSlot<C extends Capability>(
  binding: SlotBinding,
  spec: SlotSpec<C>,
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

/** A pattern's own activities for a slot (registered by its definition's slotActivities). */
export function useSlotActivities<A extends object>(binding: SlotBinding, overrides: Partial<ActivityOptions> = {}): A {
  const activities = proxyActivities<Record<string, AnyActivity>>(activityOptions(binding, overrides));
  return new Proxy({} as A, {
    get: (_target, name) =>
      typeof name === 'string' ? activities[patternActivityName(binding.pattern, binding.slot, name)] : undefined,
  });
}
