// The `telemetry.tracing` section of the worker's YAML. Every field may be left out: the standard
// OTEL_* variables then apply (docs/tracing.md), and with neither, tracing is off.
import { z } from 'zod';

export const tracingConfigSchema = z
  .object({
    /** On or off; absent: on when OTEL_TRACES_EXPORTER=otlp or an OTLP endpoint variable is set. */
    enabled: z.boolean().optional(),
    /** OTLP/HTTP traces URL, e.g. http://collector:4318/v1/traces. */
    endpoint: z.string().url().optional(),
    /** `service.name` of the spans (default: OTEL_SERVICE_NAME, else `prism-worker`). */
    service_name: z.string().min(1).optional(),
    /** Share of traces kept, 0..1, decided at the trace's root (default 1: every trace). */
    sample_ratio: z.number().min(0).max(1).optional(),
  })
  .strict();

export type TracingConfig = z.output<typeof tracingConfigSchema>;
