// The saga pattern's typed client: start the order saga or a declarative saga (validated before
// anything starts, so a bad input creates no failed execution), read a saga's state, list sagas
// by status. Workflows are started by function reference: arguments and results are typed.
import { describeIssues } from '../workflows/input';
import { validateDefinition } from '../workflows/saga/definition';
import { orderSagaInput, type OrderSagaInput } from '../workflows/saga/input';
import type { SagaState, SagaStatus } from '../workflows/saga/logic';
import { sagaStatusQuery } from '../workflows/saga/run-saga';
import { SAGA } from '../workflows/saga/slots';
import { declarativeSagaWorkflow, orderSagaWorkflow } from '../workflows/saga/workflow';
import type { PrismClient, Started } from './prism-client';

/** A saga input or definition refused before start; the message names each field. */
export class SagaInputError extends Error {
  override readonly name = 'SagaInputError';
}

export interface SagaSummary {
  workflowId: string;
  type: string;
  /** The PrismStatus search attribute: null until the saga first reports one. */
  status: string | null;
  started: string;
}

/** Checks an order saga's input; throws SagaInputError naming each bad field (under `field`). */
export function checkOrderInput(input: unknown, field = 'input'): OrderSagaInput {
  const parsed = orderSagaInput.safeParse(input);
  if (!parsed.success) throw new SagaInputError(describeIssues(parsed.error, field));
  return input as OrderSagaInput;
}

/** Checks a declarative saga's definition against its input; throws SagaInputError listing the problems. */
export function checkDefinition(definition: unknown, input: Record<string, unknown>): void {
  const { problems } = validateDefinition(definition, input);
  if (problems.length > 0) throw new SagaInputError(`invalid saga definition:\n  ${problems.join('\n  ')}`);
}

export class SagaClient {
  constructor(private readonly prism: PrismClient) {}

  /** Starts the order saga; the memo (orderId) and the summary tell the order in the Temporal UI. */
  async startOrder(
    input: OrderSagaInput,
    options: { workflowId?: string; field?: string } = {},
  ): Promise<Started<typeof orderSagaWorkflow>> {
    checkOrderInput(input, options.field);
    return this.prism.start(orderSagaWorkflow, [input], {
      pattern: SAGA,
      workflowId: options.workflowId,
      memo: { orderId: input.orderId },
      summary: `order ${input.orderId}: ${input.quantity} × ${input.sku} for ${input.customer}, ${input.amount} cents`,
    });
  }

  /** Starts a declarative saga (a parsed YAML/JSON definition) with its input. */
  async startDeclarative(
    definition: unknown,
    input: Record<string, unknown>,
    options: { workflowId?: string } = {},
  ): Promise<Started<typeof declarativeSagaWorkflow>> {
    checkDefinition(definition, input);
    const arg = { definition, input } as Parameters<typeof declarativeSagaWorkflow>[0];
    return this.prism.start(declarativeSagaWorkflow, [arg], { pattern: SAGA, workflowId: options.workflowId });
  }

  /** A saga's live state: status, steps in flight, each step's outcome (the sagaStatus query). */
  async status(workflowId: string): Promise<SagaState> {
    return this.prism.handle(workflowId).query(sagaStatusQuery);
  }

  /**
   * Sagas of this namespace, newest first, optionally only those in one status (by the PrismStatus
   * search attribute) and at most `limit` of them.
   */
  async list(status?: SagaStatus, options: { limit?: number } = {}): Promise<SagaSummary[]> {
    const query = `PrismPattern = '${SAGA}'` + (status ? ` AND PrismStatus = '${status}'` : '');
    const sagas: SagaSummary[] = [];
    for await (const w of this.prism.temporal.workflow.list({ query })) {
      const s = w.searchAttributes?.PrismStatus;
      sagas.push({
        workflowId: w.workflowId,
        type: w.type,
        status: Array.isArray(s) ? String(s[0]) : null,
        started: w.startTime.toISOString(),
      });
      if (options.limit !== undefined && sagas.length >= options.limit) break;
    }
    return sagas;
  }
}
