// Shared bits for the resilience tests.
import { DriverError } from '../../src/drivers/errors';
import {
  type BulkheadConfigInput,
  type CircuitBreakerConfigInput,
  parseResilienceConfig,
  type ResilienceConfig,
} from '../../src/resilience/config';

export function resilience(
  circuit_breaker: CircuitBreakerConfigInput = {},
  bulkhead: BulkheadConfigInput = {},
): ResilienceConfig {
  return parseResilienceConfig({ circuit_breaker, bulkhead });
}

export const unavailable = (): DriverError => new DriverError('fake', 'Unavailable', 'connection refused');
export const timeout = (): DriverError => new DriverError('fake', 'Timeout', 'took too long');
export const notFound = (): DriverError => new DriverError('fake', 'NotFound', 'no such key');

/** A promise with its resolve/reject exposed. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets pending promise callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}
