// The order example's activity signatures, shared by the workflow (typed proxies) and the
// activity factories (src/activities/saga/order-*.ts). Pure types.
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

export interface OrdersActivities {
  reserveStock(key: string, request: StockRequest): Promise<LedgerChangeResult>;
  releaseStock(key: string, request: StockRequest): Promise<LedgerUndoResult>;
  charge(key: string, request: PaymentRequest): Promise<LedgerChangeResult>;
  refund(key: string, request: PaymentRequest): Promise<LedgerUndoResult>;
  /** The recorded outcome of an order, or null when none is recorded (or it is past the retention). */
  orderOutcome(orderId: string): Promise<OrderOutcome | null>;
  /** Records an order's outcome unless one is recorded already; returns the one recorded first. */
  recordOrderOutcome(orderId: string, outcome: OrderOutcome): Promise<OrderOutcome>;
}

export interface OrderEvent {
  topic: string;
  type: string;
  orderId: string;
  data?: Record<string, unknown>;
}

export interface EventsActivities {
  publishEvent(key: string, event: OrderEvent): Promise<{ messageId: string }>;
}

export interface CacheActivities {
  cacheOrder(key: string, order: { orderId: string; data: Record<string, unknown> }): Promise<void>;
  /** Skipped when no cached order was there to evict. */
  evictOrder(key: string, order: { orderId: string }): Promise<CompensationReport | undefined>;
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
