// The order example's data types, shared by the workflow and the activity factories
// (src/activities/saga/order-*.ts, whose return types are the workflow's activity proxies). Pure types.
import type { LedgerRefusal } from '../../drivers/capabilities';
import type { CompensationReport, SagaResult } from './saga';

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
