// The order saga's input and the data its activities exchange. The input is strict: an unknown
// field (a misspelt one, or the testFaults of earlier versions) is refused naming it. Tests inject
// faults from their worker, never from input. Pure: shared by the workflow, the activity factories
// (src/activities/saga/, whose return types type the workflow's proxies), the client and the CLI.
import { z } from 'zod';
import type { LedgerRefusal } from '../../drivers/capabilities';
import type { CompensationReport, SagaResult } from './run-saga';

export const ORDER_STEPS = ['reserve', 'charge', 'publish', 'cache'] as const;
export type OrderStep = (typeof ORDER_STEPS)[number];

const name = z.string().min(1).max(200);
const step = z.enum(ORDER_STEPS);
const count = z.number().int().positive();

export const orderSagaInput = z
  .object({
    orderId: name,
    sku: name,
    quantity: count,
    customer: name,
    /** In cents. */
    amount: count,
    topic: name.default('orders'),
    /** Whether the saga caches the placed order (its fourth step). */
    cache: z.boolean().default(true),
    /** The step after which the saga no longer compensates (none by default). */
    pivot: step.optional(),
    openingStock: z.number().int().min(0).optional(),
    openingBalance: z.number().int().min(0).optional(),
    /** How long an action's transient failures are retried before the saga compensates. */
    actionRetrySeconds: z.number().int().min(1).max(86_400).default(120),
    /** Attempts of an action within actionRetrySeconds; 0: as many as fit. */
    actionAttempts: z.number().int().min(0).max(1000).default(0),
    /** Attempts of each compensation before the saga ends in compensation_failed. */
    compensationAttempts: z.number().int().min(1).max(1000).default(10),
  })
  .strict();

export type OrderSagaInput = z.input<typeof orderSagaInput>;
export type OrderSagaSettings = z.output<typeof orderSagaInput>;

/**
 * Sagas started by earlier versions (before ORDER_KEYS_PATCH) may carry their testFaults: accepted
 * when such a saga is replayed, so it goes on after an upgrade, and ignored.
 */
export const legacyOrderSagaInput = orderSagaInput.extend({ testFaults: z.unknown().optional() });

export interface StockRequest {
  sku: string;
  quantity: number;
  /** Demo support: stock created with this count when the SKU has no ledger yet. */
  openingStock?: number;
}

export interface PaymentRequest {
  customer: string;
  amount: number;
  /** Demo support: account created with this balance when the customer has no ledger yet. */
  openingBalance?: number;
}

export interface LedgerChangeResult {
  /** The counter after the change (or as it is when nothing changed; null when it does not exist). */
  now: number | null;
  /** False when nothing changed: the change had been applied before, or an undo found nothing to undo. */
  applied: boolean;
  reason?: LedgerRefusal;
}

/** An undo's result: skipped (with the reason) when it found nothing to undo. */
export type LedgerUndoResult = LedgerChangeResult & Partial<CompensationReport>;

/** What the orders slot keeps of a finished order saga, so a re-submitted orderId returns it. */
export interface OrderOutcome {
  /** The workflow that ran the order. */
  workflowId: string;
  result: SagaResult;
}

export interface OrderEvent {
  topic: string;
  type: string;
  orderId: string;
  data?: Record<string, unknown>;
}

/** Where the example keeps things, so tests and tools look in the same place. */
export const orderKeys = {
  stock: (sku: string): string => `saga:stock:${sku}`,
  account: (customer: string): string => `saga:account:${customer}`,
  /** The cached order (cache slot). */
  order: (orderId: string): string => `saga:order:${orderId}`,
  /** The order's recorded outcome (orders slot): apart from the cache's key, as both slots may share a backend. */
  outcome: (orderId: string): string => `saga:outcome:${orderId}`,
};
