// The local activity a pattern workflow runs first: which backend, task queue and activity
// options each of its slots uses. Its result is recorded in history, so replays see the binding
// the execution started with even if the config changed since. A list slot resolves to an array
// of bindings in config order, one per element, each on its own backend's task queue.
import type { PrismConfig } from '../config/schema';
import type { ActivityConfig } from '../config/schema';
import type { ResolvedSlots, SlotActivityOptions, SlotBinding } from '../sdk/slot';
import { backendTaskQueue } from '../sdk/slot';
import type { Driver } from '../drivers/driver';
import type { SlotMatch } from '../sdk/slot-match';

export function toSlotActivityOptions(activity: ActivityConfig): SlotActivityOptions {
  return {
    startToCloseTimeoutMs: activity.start_to_close_timeout,
    heartbeatTimeoutMs: activity.heartbeat_timeout,
    retry: {
      initialIntervalMs: activity.retry.initial_interval,
      backoffCoefficient: activity.retry.backoff_coefficient,
      maximumIntervalMs: activity.retry.maximum_interval,
      maximumAttempts: activity.retry.maximum_attempts,
      nonRetryableErrorTypes: activity.retry.non_retryable_error_types,
    },
  };
}

export function slotBindings(
  config: PrismConfig,
  matches: readonly SlotMatch[],
  drivers: ReadonlyMap<string, Driver>,
): Map<string, ResolvedSlots> {
  const byPattern = new Map<string, ResolvedSlots>();
  for (const match of matches) {
    const patternConfig = config.patterns[match.pattern];
    const activity = patternConfig.slot_activity[match.slot] ?? patternConfig.activity;
    const bindings = byPattern.get(match.pattern) ?? {};
    const binding: SlotBinding = {
      pattern: match.pattern,
      slot: match.slot,
      ...(match.index === undefined ? {} : { index: match.index }),
      backend: match.backend,
      driver: match.driver,
      taskQueue: backendTaskQueue(config.temporal.task_queue, match.backend),
      capabilities: [...(drivers.get(match.backend)?.capabilities ?? match.requires)],
      activity: toSlotActivityOptions(activity),
    };
    if (match.index === undefined) {
      bindings[match.slot] = binding;
    } else {
      const list = (bindings[match.slot] ?? []) as SlotBinding[];
      list[match.index] = binding;
      bindings[match.slot] = list;
    }
    byPattern.set(match.pattern, bindings);
  }
  return byPattern;
}

export function resolveSlotsActivity(bindings: ReadonlyMap<string, ResolvedSlots>) {
  return async (pattern: string): Promise<ResolvedSlots> => {
    const found = bindings.get(pattern);
    if (!found) throw new Error(`pattern "${pattern}" is not configured on this worker`);
    return found;
  };
}
