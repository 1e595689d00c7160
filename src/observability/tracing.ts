// OpenTelemetry tracing for the process: a tracer provider exporting over OTLP/HTTP, registered
// globally (Temporal's OpenTelemetry interceptors and the driver spans use it). The SDK is loaded
// only when tracing is on: a worker without tracing imports none of it.
import { ProxyTracerProvider, trace } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { traceDriverCalls } from '../resilience/driver-spans';
import type { TracingConfig } from './tracing-config';

export type { TracingConfig } from './tracing-config';

/** What tracing runs with, once the YAML and the OTEL_* variables are combined. */
export interface TracingSettings {
  /** OTLP/HTTP traces URL; undefined: the exporter's own OTEL_* lookup and default. */
  endpoint?: string;
  serviceName: string;
  sampleRatio: number;
}

export interface Tracing {
  readonly settings: TracingSettings;
  /** For Temporal's workflow span sink: workflow spans are exported by the worker. */
  readonly spanProcessor: SpanProcessor;
  readonly resource: Resource;
  /** Sends the spans still buffered. */
  flush(): Promise<void>;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The settings when tracing is on, else undefined. YAML fields win; a field left out falls back
 * to its OTEL_* variable. OTEL_SDK_DISABLED=true turns tracing off whatever the YAML says.
 */
export function tracingSettings(
  config: TracingConfig | undefined,
  defaultServiceName: string,
  env: Env = process.env,
): TracingSettings | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const fromEnv =
    env.OTEL_TRACES_EXPORTER?.split(',').some((e) => e.trim() === 'otlp') === true ||
    Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT);
  if (!(config?.enabled ?? fromEnv)) return undefined;
  const ratio = env.OTEL_TRACES_SAMPLER_ARG === undefined ? undefined : Number(env.OTEL_TRACES_SAMPLER_ARG);
  return {
    ...(config?.endpoint ? { endpoint: config.endpoint } : {}),
    serviceName: config?.service_name ?? env.OTEL_SERVICE_NAME ?? defaultServiceName,
    sampleRatio: config?.sample_ratio ?? (ratio !== undefined && ratio >= 0 && ratio <= 1 ? ratio : 1),
  };
}

let started: Promise<Tracing> | undefined;

/**
 * Starts tracing for this process (once: later calls get the first one's tracing) and turns on
 * the driver spans.
 */
export function startTracing(settings: TracingSettings): Promise<Tracing> {
  started ??= load(settings);
  return started;
}

/** Whether a tracer provider is registered globally (ours, or the embedding application's). */
export function tracerProviderRegistered(): boolean {
  const provider = trace.getTracerProvider();
  const delegate = provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider;
  return delegate !== new ProxyTracerProvider().getDelegate();
}

async function load(settings: TracingSettings): Promise<Tracing> {
  const [{ NodeTracerProvider }, base, { OTLPTraceExporter }, resources] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  // OTEL_RESOURCE_ATTRIBUTES (and OTEL_SERVICE_NAME) apply; the service name from the settings wins.
  const resource = resources
    .detectResourcesSync({ detectors: [resources.envDetectorSync] })
    .merge(new resources.Resource({ 'service.name': settings.serviceName }));
  const exporter = new OTLPTraceExporter(settings.endpoint ? { url: settings.endpoint } : {});
  const spanProcessor = new base.BatchSpanProcessor(exporter);
  const provider = new NodeTracerProvider({
    resource,
    sampler: new base.ParentBasedSampler({ root: new base.TraceIdRatioBasedSampler(settings.sampleRatio) }),
    spanProcessors: [spanProcessor],
  });
  // Also installs the AsyncLocalStorage context manager and the W3C trace-context propagator.
  provider.register();
  traceDriverCalls(trace.getTracer('prism'));
  return { settings, spanProcessor, resource, flush: () => provider.forceFlush() };
}
