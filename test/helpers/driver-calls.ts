// Counts the calls that reach a driver itself (under its guard), so a test can tell a call the
// guard refused from one the backend refused.
import { CAPABILITY_OPERATIONS } from '../../src/drivers/capabilities';
import type { Driver } from '../../src/drivers/driver';

/** Wraps every capability operation of `driver` in place; returns the running count. */
export function countDriverCalls(driver: Driver): { readonly count: number } {
  const counter = { count: 0 };
  const methods = driver as unknown as Record<string, ((...args: unknown[]) => Promise<unknown>) | undefined>;
  for (const name of Object.values(CAPABILITY_OPERATIONS).flat()) {
    const real = methods[name];
    if (typeof real !== 'function') continue;
    methods[name] = (...args) => {
      counter.count++;
      return real.apply(driver, args);
    };
  }
  return counter;
}
