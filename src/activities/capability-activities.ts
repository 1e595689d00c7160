// One activity per capability operation of a driver: `keyvalue_basic.get`, `queue_basic.receive`…
// Registered on the backend's own task queue, so the name needs no backend in it.
import { CAPABILITY_OPERATIONS, type Capability } from '../drivers/capabilities';
import type { Driver } from '../drivers/driver';
import type { ActivityMap } from '../sdk/pattern';
import { capabilityActivityName } from '../sdk/slot';

export function capabilityActivities(driver: Driver): ActivityMap {
  const activities: ActivityMap = {};
  for (const capability of driver.capabilities) {
    for (const operation of CAPABILITY_OPERATIONS[capability as Capability]) {
      const method = (driver as unknown as Record<string, unknown>)[operation];
      if (typeof method !== 'function') {
        throw new Error(`driver ${driver.driverName} declares ${capability} but has no ${operation}()`);
      }
      activities[capabilityActivityName(capability, operation)] = (...args: unknown[]) =>
        (method as (...a: unknown[]) => Promise<unknown>).apply(driver, args);
    }
  }
  return activities;
}
