// The worker's YAML config, validated before anything connects. Field names follow the origin
// design (snake_case); parsed durations are milliseconds.
import { z } from 'zod';
import { durationSchema as duration } from '../resilience/duration';
import { tracingConfigSchema } from '../observability/tracing-config';
import { codecSchema, temporalTlsSchema } from '../security/config';

const name = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,62}$/, 'expected a lower-case name (letters, digits, - and _, up to 63 characters)');

export const retrySchema = z
  .object({
    initial_interval: duration.default(1000),
    backoff_coefficient: z.number().min(1).max(10).default(2),
    maximum_interval: duration.default(30_000),
    /** 0 means unlimited: Temporal retries until the workflow gives up. */
    maximum_attempts: z.number().int().min(0).default(0),
    non_retryable_error_types: z.array(z.string()).default([]),
  })
  .strict();

export const activitySchema = z
  .object({
    start_to_close_timeout: duration.default(30_000),
    heartbeat_timeout: duration.default(10_000),
    retry: retrySchema.default(retrySchema.parse({})),
  })
  .strict();

export const backendSchema = z
  .object({
    driver: name,
    /** Driver-specific settings, validated by the driver's own schema at start-up. */
    config: z.record(z.string(), z.unknown()).default({}),
    circuit_breaker: z.record(z.string(), z.unknown()).default({}),
    bulkhead: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

/** A slot's backend, or a list slot's backends (`shards: [redis-a, redis-b]`); lengths are the matcher's. */
const slotValue = z.union([name, z.array(name)], {
  error: 'expected a backend name, or a list of backend names for a list slot',
});

export const patternConfigSchema = z
  .object({
    /** slot name → backend name, or list of backend names for a list slot */
    slots: z.record(name, slotValue).default({}),
    /** Activity options for every slot, overridable per slot under `slot_activity`. */
    activity: activitySchema.default(activitySchema.parse({})),
    slot_activity: z.record(name, activitySchema).default({}),
    /** Pattern-specific settings, validated by the pattern's own schema. */
    settings: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export const configSchema = z
  .object({
    temporal: z
      .object({
        address: z.string().min(1).default('127.0.0.1:7233'),
        namespace: z.string().min(1).default('default'),
        task_queue: z.string().min(1).default('prism'),
        ui_url: z.string().url().default('http://127.0.0.1:8233'),
        /** TLS (and mTLS) to the Temporal frontend; absent means plaintext. */
        tls: temporalTlsSchema.optional(),
      })
      .strict()
      .default({
        address: '127.0.0.1:7233',
        namespace: 'default',
        task_queue: 'prism',
        ui_url: 'http://127.0.0.1:8233',
      }),
    worker: z
      .object({
        http_host: z.string().default('127.0.0.1'),
        /** /health, /ready and /metrics; 0 picks a free port. */
        http_port: z.number().int().min(0).max(65535).default(9464),
        /** Temporal's own worker metrics are served here and appended to /metrics. */
        temporal_metrics_port: z.number().int().min(0).max(65535).default(9465),
        shutdown_grace_time: duration.default(30_000),
        /** After this, in-flight work is abandoned and the process exits with code 2. */
        shutdown_force_time: duration.default(45_000),
        max_concurrent_workflow_tasks: z.number().int().min(1).default(40),
      })
      .strict()
      .default({
        http_host: '127.0.0.1',
        http_port: 9464,
        temporal_metrics_port: 9465,
        shutdown_grace_time: 30_000,
        shutdown_force_time: 45_000,
        max_concurrent_workflow_tasks: 40,
      }),
    backends: z.record(name, backendSchema),
    patterns: z.record(z.string(), patternConfigSchema),
    /** Payload encryption (off by default) and its codec server for the Temporal UI. */
    codec: codecSchema.prefault({}),
    /** OpenTelemetry traces over OTLP/HTTP (off by default; docs/tracing.md). */
    telemetry: z
      .object({ tracing: tracingConfigSchema.prefault({}) })
      .strict()
      .prefault({}),
    logging: z
      .object({ level: z.enum(['debug', 'info', 'warn', 'error']).default('info') })
      .strict()
      .default({ level: 'info' }),
  })
  .strict();

export type PrismConfig = z.output<typeof configSchema>;
export type BackendConfig = z.output<typeof backendSchema>;
export type PatternConfig = z.output<typeof patternConfigSchema>;
export type ActivityConfig = z.output<typeof activitySchema>;
