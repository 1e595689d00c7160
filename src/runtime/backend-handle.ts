// A backend as its users see it: the driver's capability operations, each call run through the
// backend's guard (bulkhead, breaker, metrics). Typed clients' fast paths and the CLI get only
// this; the raw driver is kept for code that already runs under the same guard (the worker's
// backend activities, guarded by the activity interceptor).
import { CAPABILITY_OPERATIONS, type Capability } from '../drivers/capabilities';
import type { Driver } from '../drivers/driver';
import type { BackendGuard } from '../resilience/backend-guard';
import { driverTracer, inDriverSpan } from '../resilience/driver-spans';
import { capabilityActivityName } from '../sdk/slot';

export type { BackendHandle, BackendHandleBase } from '../sdk/backend-handle';
import type { BackendHandle, BackendHandleBase } from '../sdk/backend-handle';

/**
 * Operations a capability has beyond its activities: `subscribe` and `streamChanges` are not
 * activities (a subscription or a stream lives in one process) but opening one is still a call to
 * the backend.
 */
const EXTRA_OPERATIONS: Partial<Record<Capability, readonly string[]>> = {
  pubsub_basic: ['subscribe'],
  cdc_source: ['streamChanges'],
};

type Operation = (...args: unknown[]) => Promise<unknown>;

/**
 * The driver's declared capability operations, each through `guard.execute` with the same
 * operation label as its capability activity (`keyvalue_cas.getVersioned`). The driver's method
 * is looked up at call time, so the call really is the driver's.
 */
export function guardedOperations(driver: Driver, guard: BackendGuard): Record<string, Operation> {
  const operations: Record<string, Operation> = {};
  const methods = driver as unknown as Record<string, Operation | undefined>;
  for (const capability of driver.capabilities) {
    for (const name of [...CAPABILITY_OPERATIONS[capability], ...(EXTRA_OPERATIONS[capability] ?? [])]) {
      if (typeof methods[name] !== 'function') {
        throw new Error(`driver ${driver.driverName} declares ${capability} but has no ${name}()`);
      }
      const label = capabilityActivityName(capability, name);
      const options = { capability: { name: capability, operation: name } };
      operations[name] = (...args) => guard.execute(label, () => methods[name]!.apply(driver, args), options);
    }
  }
  return operations;
}

/** One handle on a backend: the shared guarded operations plus a release of its own. */
export function createHandle(
  backend: string,
  driver: Driver,
  guard: BackendGuard,
  operations: Record<string, Operation>,
  release: () => Promise<void>,
): BackendHandle {
  let released: Promise<void> | undefined;
  const base: BackendHandleBase = {
    backend,
    driverName: driver.driverName,
    capabilities: driver.capabilities,
    guard,
    unguarded: driver,
    health: () => driver.health(),
    // Idempotent: a second close of the same handle must not release another user's reference.
    close: () => (released ??= release()),
  };
  return Object.assign(base, operations) as BackendHandle;
}

/**
 * The driver for a backend's activities (which already run under its guard): while tracing is on,
 * each capability operation they call runs in a span of its own, child of the activity's span;
 * otherwise the driver itself.
 */
export function tracedDriver(driver: Driver, backend: string): Driver {
  const tracer = driverTracer();
  if (!tracer) return driver;
  const capabilityOf = new Map<string, Capability>();
  for (const capability of driver.capabilities)
    for (const name of [...CAPABILITY_OPERATIONS[capability], ...(EXTRA_OPERATIONS[capability] ?? [])])
      capabilityOf.set(name, capability);
  const traced = new Map<string, Operation>();
  return new Proxy(driver, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const capability = typeof property === 'string' ? capabilityOf.get(property) : undefined;
      if (!capability) return (value as Operation).bind(target);
      const name = property as string;
      let operation = traced.get(name);
      if (!operation) {
        const call = { backend, driver: driver.driverName, capability, operation: name };
        operation = (...args) => inDriverSpan(tracer, call, () => (value as Operation).apply(target, args));
        traced.set(name, operation);
      }
      return operation;
    },
  });
}
