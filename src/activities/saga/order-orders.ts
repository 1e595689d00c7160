// The order example's stock and payment activities over the `orders` slot (Postgres in the
// example, any keyvalue_cas backend works): stock per SKU and balance per customer are ledgers
// (ledger.ts) changed once per idempotency key, so a retried reservation or refund has its
// effect once.
import { ApplicationFailure } from '@temporalio/common';
import type { Ops } from '../../drivers/capabilities';
import type { ActivityMap } from '../../sdk/pattern';
import {
  orderKeys,
  type Fault,
  type LedgerChange,
  type OrdersActivities,
  type PaymentRequest,
  type StockRequest,
} from '../../workflows/saga/order-types';
import { failIfInjected, pauseIfInjected } from './faults';
import { applyOnce } from './ledger';

function positive(what: string, n: number): number {
  if (!Number.isInteger(n) || n <= 0) throw ApplicationFailure.nonRetryable(`${what} must be a positive integer`);
  return n;
}

export function orderLedgerActivities(driver: Ops<'keyvalue_basic' | 'keyvalue_cas'>): ActivityMap {
  const change = async (
    operation: string,
    key: string,
    ledgerKey: string,
    fault: Fault | undefined,
    apply: (count: number | null) => number,
    undoes?: string,
  ): Promise<LedgerChange> => {
    failIfInjected(fault, key, operation);
    // An undo applies only after the change it undoes: the saga may compensate an action that failed.
    const onlyAfter = undoes === undefined ? undefined : `${key}:${undoes}`;
    const result = await applyOnce(driver, ledgerKey, `${key}:${operation}`, apply, onlyAfter);
    await pauseIfInjected(fault);
    return result;
  };

  const activities: OrdersActivities = {
    reserveStock: (key: string, r: StockRequest, fault?: Fault) =>
      change('reserveStock', key, orderKeys.stock(r.sku), fault, (count) => {
        const available = count ?? r.openingStock;
        if (available === undefined) throw ApplicationFailure.nonRetryable(`unknown SKU ${r.sku}`, 'OutOfStock');
        if (available < positive('quantity', r.quantity)) {
          throw ApplicationFailure.nonRetryable(`SKU ${r.sku}: ${available} left, ${r.quantity} asked`, 'OutOfStock');
        }
        return available - r.quantity;
      }),
    releaseStock: (key: string, r: StockRequest, fault?: Fault) =>
      change(
        'releaseStock',
        key,
        orderKeys.stock(r.sku),
        fault,
        (count) => (count ?? 0) + positive('quantity', r.quantity),
        'reserveStock',
      ),
    charge: (key: string, r: PaymentRequest, fault?: Fault) =>
      change('charge', key, orderKeys.account(r.customer), fault, (count) => {
        const balance = count ?? r.openingBalance;
        if (balance === undefined) {
          throw ApplicationFailure.nonRetryable(`unknown customer ${r.customer}`, 'PaymentDeclined');
        }
        if (balance < positive('amount', r.amount)) {
          throw ApplicationFailure.nonRetryable(`customer ${r.customer}: balance too low`, 'PaymentDeclined');
        }
        return balance - r.amount;
      }),
    refund: (key: string, r: PaymentRequest, fault?: Fault) =>
      change(
        'refund',
        key,
        orderKeys.account(r.customer),
        fault,
        (count) => (count ?? 0) + positive('amount', r.amount),
        'charge',
      ),
  };
  return { ...activities };
}
