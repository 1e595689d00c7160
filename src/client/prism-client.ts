// The typed client: start pattern workflows, wait for results, describe executions, and link to
// them in the Temporal UI. Uses the same payload converter as the worker.
import {
  Client,
  Connection,
  type WorkflowClientInterceptor,
  type WorkflowHandle,
  type WorkflowStartOptions,
} from '@temporalio/client';
import type { Duration, PayloadCodec } from '@temporalio/common';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../config/load';
import type { PrismConfig } from '../config/schema';
import { prepareConnectionSecurity } from '../config/prepare-security';
import { tracerProviderRegistered } from '../observability/tracing';
import { PAYLOAD_CONVERTER } from '../runtime/workflow-bundle';
import { PRISM_PATTERN } from '../workflows/search-attributes';

export interface PrismClientOptions {
  address?: string;
  namespace?: string;
  taskQueue?: string;
  uiUrl?: string;
  /** TLS to the Temporal frontend (CA, client certificate pair, server name). */
  tls?: TLSConfig;
  /** Payload codecs (encryption); must match the worker's. */
  payloadCodecs?: PayloadCodec[];
  /** A worker config (default: the file PRISM_CONFIG names): its temporal section, TLS and codec apply unless given above. */
  config?: PrismConfig;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a workflow's own parameter list
type WorkflowFn = (...args: any[]) => Promise<unknown>;

/** A started execution; `handle.result()` is typed from the workflow function it was started with. */
export interface Started<F extends WorkflowFn = WorkflowFn> {
  workflowId: string;
  runId: string;
  uiUrl: string;
  handle: WorkflowHandle<F>;
}

/**
 * While this process traces (startTracing, or the application's own tracer provider), a workflow
 * start is a span (StartWorkflow) whose context the workflow and its activities continue.
 */
async function tracingInterceptors(): Promise<WorkflowClientInterceptor[]> {
  if (!tracerProviderRegistered()) return [];
  const { OpenTelemetryWorkflowClientInterceptor } = await import('@temporalio/interceptors-opentelemetry/lib/client');
  return [new OpenTelemetryWorkflowClientInterceptor()];
}

export class PrismClient {
  private constructor(
    readonly temporal: Client,
    private readonly connection: Connection,
    readonly namespace: string,
    readonly taskQueue: string,
    readonly uiBase: string,
  ) {}

  static async connect(options: PrismClientOptions = {}): Promise<PrismClient> {
    // PRISM_CONFIG lets the CLI use the worker's TLS and codec settings.
    const config = options.config ?? (process.env.PRISM_CONFIG ? loadConfig(process.env.PRISM_CONFIG) : undefined);
    const temporal = config?.temporal;
    const fromConfig = config ? prepareConnectionSecurity(config) : undefined;
    const address = options.address ?? temporal?.address ?? process.env.PRISM_TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
    const namespace = options.namespace ?? temporal?.namespace ?? process.env.PRISM_NAMESPACE ?? 'default';
    const tls = options.tls ?? fromConfig?.tls;
    const payloadCodecs = options.payloadCodecs ?? fromConfig?.payloadCodecs ?? [];
    const connection = await Connection.connect({ address, tls, connectTimeout: '5s' }).catch((err: unknown) => {
      // The SDK's message ("Failed to connect before the deadline") does not say where it tried.
      throw new Error(`cannot reach Temporal at ${address}: ${(err as Error).message}`, { cause: err });
    });
    const client = new Client({
      connection,
      namespace,
      dataConverter: { payloadConverterPath: PAYLOAD_CONVERTER, payloadCodecs },
      interceptors: { workflow: await tracingInterceptors() },
    });
    return new PrismClient(
      client,
      connection,
      namespace,
      options.taskQueue ?? temporal?.task_queue ?? process.env.PRISM_TASK_QUEUE ?? 'prism',
      options.uiUrl ?? temporal?.ui_url ?? process.env.PRISM_TEMPORAL_UI ?? 'http://127.0.0.1:8233',
    );
  }

  uiUrl(workflowId: string, runId?: string): string {
    const base = `${this.uiBase}/namespaces/${encodeURIComponent(this.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
    return runId ? `${base}/${encodeURIComponent(runId)}/history` : base;
  }

  /**
   * Starts a workflow with its input, tagged with its pattern. Pass the workflow function (its
   * arguments and result are then typed from it); a type name is for workflows only known at run
   * time (the CLI's `prism start <workflow>`). memo carries its business keys (an order id, a
   * registry, a pipeline) to the Temporal UI; summary is the one line the UI shows for the
   * execution (Temporal's static summary); workflowTaskTimeout replaces Temporal's 10 s default for
   * a workflow that needs it.
   */
  async start<F extends WorkflowFn>(
    workflow: F | string,
    args: Parameters<F>,
    options: {
      pattern: string;
      workflowId?: string;
      memo?: Record<string, string>;
      summary?: string;
      workflowTaskTimeout?: Duration;
    },
  ): Promise<Started<F>> {
    const workflowId = options.workflowId ?? `${options.pattern}-${randomUUID()}`;
    const startOptions = {
      taskQueue: this.taskQueue,
      workflowId,
      args,
      typedSearchAttributes: [{ key: PRISM_PATTERN, value: options.pattern }],
      ...(options.memo ? { memo: options.memo } : {}),
      ...(options.summary ? { staticSummary: options.summary } : {}),
      ...(options.workflowTaskTimeout ? { workflowTaskTimeout: options.workflowTaskTimeout } : {}),
    } as unknown as WorkflowStartOptions<F>;
    const handle = await this.temporal.workflow.start(workflow, startOptions);
    return {
      workflowId,
      runId: handle.firstExecutionRunId,
      uiUrl: this.uiUrl(workflowId, handle.firstExecutionRunId),
      handle,
    };
  }

  handle(workflowId: string, runId?: string): WorkflowHandle {
    return this.temporal.workflow.getHandle(workflowId, runId);
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}
