// The order example's activity signatures, shared by the workflow (typed proxies) and the
// activity factories (src/activities/saga/order-*.ts). Pure types.

/** Test-only failure injection, honoured by every order activity. */
export interface Fault {
  /** Fail this many calls (per idempotency key and operation, per worker process); absent: every call. */
  times?: number;
  /** After applying the effect on the first attempt, wait this long (heartbeating) before returning. */
  pauseAfterApplyMs?: number;
}

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

export interface LedgerChange {
  /** The counter after the change (or as it was when the change had been applied before). */
  now: number;
  /** False when this idempotency key's change had already been applied: nothing changed this time. */
  applied: boolean;
}

export interface OrdersActivities {
  reserveStock(key: string, request: StockRequest, fault?: Fault): Promise<LedgerChange>;
  releaseStock(key: string, request: StockRequest, fault?: Fault): Promise<LedgerChange>;
  charge(key: string, request: PaymentRequest, fault?: Fault): Promise<LedgerChange>;
  refund(key: string, request: PaymentRequest, fault?: Fault): Promise<LedgerChange>;
}

export interface OrderEvent {
  topic: string;
  type: string;
  orderId: string;
  data?: Record<string, unknown>;
}

export interface EventsActivities {
  publishEvent(key: string, event: OrderEvent, fault?: Fault): Promise<{ messageId: string }>;
}

export interface CacheActivities {
  cacheOrder(key: string, order: { orderId: string; data: Record<string, unknown> }, fault?: Fault): Promise<void>;
  evictOrder(key: string, order: { orderId: string }, fault?: Fault): Promise<void>;
}

/** Where the example keeps things, so tests and tools look in the same place. */
export const orderKeys = {
  stock: (sku: string): string => `saga:stock:${sku}`,
  account: (customer: string): string => `saga:account:${customer}`,
  order: (orderId: string): string => `saga:order:${orderId}`,
};
