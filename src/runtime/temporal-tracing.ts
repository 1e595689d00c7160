// Temporal's OpenTelemetry interceptors for a worker whose process traces: activity spans
// (RunActivity) continue the workflow's trace, and workflow spans, made inside the sandbox, leave
// it through a sink to the process's span processor. The workflow side is compiled into the traced
// workflow bundle (workflow-bundle.ts). Loaded only when tracing is on.
import type { OpenTelemetryWorkflowExporter } from '@temporalio/interceptors-opentelemetry';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import type { Tracing } from '../observability/tracing';

export interface TemporalTracing {
  /** First in a backend worker's activity interceptors, so the guard runs inside the activity's span. */
  activity: ActivityInterceptorsFactory;
  /** The workflow worker's sinks. */
  sinks: InjectedSinks<{ exporter: OpenTelemetryWorkflowExporter }>;
}

export async function temporalTracing(tracing: Tracing): Promise<TemporalTracing> {
  const otel = await import('@temporalio/interceptors-opentelemetry/lib/worker');
  return {
    activity: (ctx) => ({
      inbound: new otel.OpenTelemetryActivityInboundInterceptor(ctx),
      outbound: new otel.OpenTelemetryActivityOutboundInterceptor(ctx),
    }),
    sinks: { exporter: otel.makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
  };
}
