// The saga pattern's settings (patterns.saga.settings in the worker's YAML).
import { z } from 'zod';
import { positiveDurationSchema } from '../../resilience/duration';

/** 30 days, longer than Temporal's default workflow retention and any sane client retry window. */
export const DEFAULT_IDEMPOTENCY_RETENTION_MS = 30 * 24 * 3_600_000;

export const sagaSettingsSchema = z.strictObject({
  /**
   * How long the order saga remembers each applied change id and each order's outcome: a retried
   * or re-submitted order within it applies nothing again. A duration ("720h") or milliseconds;
   * the worker refuses one shorter than its namespace's workflow retention.
   */
  idempotency_retention: positiveDurationSchema.default(DEFAULT_IDEMPOTENCY_RETENTION_MS),
});

export type SagaSettings = z.output<typeof sagaSettingsSchema>;
