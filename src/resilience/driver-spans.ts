// OpenTelemetry spans for driver calls. Off until tracing starts (observability/tracing.ts sets
// the tracer): with no tracer, callers check one variable and create nothing, so tracing that is
// off costs a branch per call and loads no SDK.
import { type Attributes, type Span, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';

/** Attribute names of a driver operation's span (docs/tracing.md). */
export const SPAN_ATTRIBUTE = {
  backend: 'prism.backend',
  driver: 'prism.driver',
  capability: 'prism.capability',
  operation: 'prism.operation',
  status: 'prism.status',
} as const;

let tracer: Tracer | undefined;

/** Sets (or with undefined clears) the tracer driver calls are traced with. */
export function traceDriverCalls(next: Tracer | undefined): void {
  tracer = next;
}

/** The tracer while tracing is on, else undefined. */
export function driverTracer(): Tracer | undefined {
  return tracer;
}

export interface DriverCall {
  backend: string;
  driver: string;
  capability: string;
  /** The capability's method, e.g. `getVersioned`. */
  operation: string;
}

/**
 * Runs `fn` in a span `<capability>.<operation>` (kind CLIENT) that is the active span meanwhile.
 * A throw marks the span failed, unless `isFailure` says the error is an expected outcome.
 */
export function inDriverSpan<T>(
  active: Tracer,
  call: DriverCall,
  fn: (span: Span) => Promise<T>,
  isFailure: (err: unknown) => boolean = () => true,
): Promise<T> {
  const attributes: Attributes = {
    [SPAN_ATTRIBUTE.backend]: call.backend,
    [SPAN_ATTRIBUTE.driver]: call.driver,
    [SPAN_ATTRIBUTE.capability]: call.capability,
    [SPAN_ATTRIBUTE.operation]: call.operation,
  };
  return active.startActiveSpan(`${call.capability}.${call.operation}`, { kind: SpanKind.CLIENT, attributes }, (span) =>
    fn(span).then(
      (result) => {
        span.end();
        return result;
      },
      (err: unknown) => {
        if (isFailure(err)) {
          span.recordException(err instanceof Error ? err : String(err));
          span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
        }
        span.end();
        throw err;
      },
    ),
  );
}
