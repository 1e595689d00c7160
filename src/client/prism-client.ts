// The typed client: start pattern workflows, wait for results, describe executions, and link to
// them in the Temporal UI. Uses the same payload converter as the worker.
import { Client, Connection, type WorkflowHandle, type WorkflowStartOptions } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { PAYLOAD_CONVERTER } from '../runtime/workflow-bundle';
import { PRISM_PATTERN } from '../workflows/search-attributes';

export interface PrismClientOptions {
  address?: string;
  namespace?: string;
  taskQueue?: string;
  uiUrl?: string;
}

export interface Started {
  workflowId: string;
  runId: string;
  uiUrl: string;
  handle: WorkflowHandle;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a workflow's own parameter list
type WorkflowFn = (...args: any[]) => Promise<unknown>;

export class PrismClient {
  private constructor(
    readonly temporal: Client,
    private readonly connection: Connection,
    readonly namespace: string,
    readonly taskQueue: string,
    readonly uiBase: string,
  ) {}

  static async connect(options: PrismClientOptions = {}): Promise<PrismClient> {
    const address = options.address ?? process.env.PRISM_TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
    const namespace = options.namespace ?? process.env.PRISM_NAMESPACE ?? 'default';
    const connection = await Connection.connect({ address, connectTimeout: '5s' });
    const client = new Client({ connection, namespace, dataConverter: { payloadConverterPath: PAYLOAD_CONVERTER } });
    return new PrismClient(
      client,
      connection,
      namespace,
      options.taskQueue ?? process.env.PRISM_TASK_QUEUE ?? 'prism',
      options.uiUrl ?? process.env.PRISM_TEMPORAL_UI ?? 'http://127.0.0.1:8233',
    );
  }

  uiUrl(workflowId: string, runId?: string): string {
    const base = `${this.uiBase}/namespaces/${encodeURIComponent(this.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
    return runId ? `${base}/${encodeURIComponent(runId)}/history` : base;
  }

  /** Starts a workflow by type name (or function) with its input; tagged with its pattern. */
  async start<F extends WorkflowFn>(
    workflow: F | string,
    args: Parameters<F>,
    options: { pattern: string; workflowId?: string },
  ): Promise<Started> {
    const workflowId = options.workflowId ?? `${options.pattern}-${randomUUID()}`;
    const startOptions = {
      taskQueue: this.taskQueue,
      workflowId,
      args,
      typedSearchAttributes: [{ key: PRISM_PATTERN, value: options.pattern }],
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
