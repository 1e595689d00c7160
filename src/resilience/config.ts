// Resilience knobs per backend: the YAML's `circuit_breaker` and `bulkhead` sections. Field names
// stay snake_case as in the YAML; parsed durations are milliseconds.
import { z } from 'zod';
import { positiveDurationSchema } from './duration';

export const circuitBreakerConfigSchema = z.strictObject({
  /** consecutive mode: transient failures in a row that open the circuit */
  max_failures: z.number().int().min(1).default(5),
  /** how long the circuit stays open before probes are allowed */
  reset_timeout: positiveDurationSchema.default(30_000),
  /** successful probes needed to close again; also how many may run at once while half-open */
  half_open_probes: z.number().int().min(1).default(1),
  mode: z.enum(['consecutive', 'sampling']).default('consecutive'),
  /** sampling mode: share of transient failures (0 < rate ≤ 1) in the window that opens the circuit */
  failure_rate: z.number().gt(0).max(1).default(0.5),
  /** sampling mode: the sliding window the failure rate is measured over */
  sampling_window: positiveDurationSchema.default(30_000),
  /** sampling mode: calls needed in the window before the rate is judged */
  minimum_calls: z.number().int().min(1).default(10),
});

// On a worker, `capacity` is also the backend task queue's activity slots, so activities alone never
// fill the queue: `queue` and `timeout` bound the calls that reach a guard without a Temporal task
// slot (fast paths), and activities too when such calls share the worker's guard.
export const bulkheadConfigSchema = z.strictObject({
  /** calls running at once through one guard */
  capacity: z.number().int().min(1).default(32),
  /** calls waiting for a slot; 0 rejects as soon as every slot is taken */
  queue: z.number().int().min(0).default(64),
  /** the longest a call waits in the queue before it is rejected */
  timeout: positiveDurationSchema.default(5_000),
});

export const resilienceConfigSchema = z.strictObject({
  circuit_breaker: circuitBreakerConfigSchema.prefault({}),
  bulkhead: bulkheadConfigSchema.prefault({}),
});

export type CircuitBreakerConfig = z.output<typeof circuitBreakerConfigSchema>;
export type CircuitBreakerConfigInput = z.input<typeof circuitBreakerConfigSchema>;
export type BulkheadConfig = z.output<typeof bulkheadConfigSchema>;
export type BulkheadConfigInput = z.input<typeof bulkheadConfigSchema>;
export type ResilienceConfig = z.output<typeof resilienceConfigSchema>;
export type ResilienceConfigInput = z.input<typeof resilienceConfigSchema>;
export type CircuitBreakerMode = CircuitBreakerConfig['mode'];

/**
 * Parses a backend's resilience sections. Takes only `circuit_breaker` and `bulkhead` from the
 * input, so a whole backend entry (with `driver`, `config`, …) can be passed as is. Throws a
 * ZodError naming the bad field.
 */
export function parseResilienceConfig(input: { circuit_breaker?: unknown; bulkhead?: unknown } = {}): ResilienceConfig {
  return resilienceConfigSchema.parse({ circuit_breaker: input.circuit_breaker, bulkhead: input.bulkhead });
}

/** Every knob at its default. */
export const DEFAULT_RESILIENCE_CONFIG: ResilienceConfig = Object.freeze(parseResilienceConfig());
