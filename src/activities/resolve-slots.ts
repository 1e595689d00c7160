// The local activity a pattern workflow runs first: which backend, task queue and activity
// options each of its slots uses. Its result is recorded in history, so replays see the binding
// the execution started with even if the config changed since.
import type { PrismConfig } from '../config/schema';
import type { ActivityConfig } from '../config/schema';
import type { SlotActivityOptions, SlotBindings } from '../sdk/slot';
import { backendTaskQueue } from '../sdk/slot';
import type { Driver } from '../drivers/driver';
import type { SlotMatch } from '../runtime/slot-matcher';

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
): Map<string, SlotBindings> {
  const byPattern = new Map<string, SlotBindings>();
  for (const match of matches) {
    const patternConfig = config.patterns[match.pattern];
    const activity = patternConfig.slot_activity[match.slot] ?? patternConfig.activity;
    const bindings = byPattern.get(match.pattern) ?? {};
    bindings[match.slot] = {
      pattern: match.pattern,
      slot: match.slot,
      backend: match.backend,
      driver: match.driver,
      taskQueue: backendTaskQueue(config.temporal.task_queue, match.backend),
      capabilities: [...(drivers.get(match.backend)?.capabilities ?? match.requires)],
      activity: toSlotActivityOptions(activity),
    };
    byPattern.set(match.pattern, bindings);
  }
  return byPattern;
}

export function resolveSlotsActivity(bindings: ReadonlyMap<string, SlotBindings>) {
  return async (pattern: string): Promise<SlotBindings> => {
    const found = bindings.get(pattern);
    if (!found) throw new Error(`pattern "${pattern}" is not configured on this worker`);
    return found;
  };
}
