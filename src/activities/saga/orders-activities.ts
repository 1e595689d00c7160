// The order example's stock and payment activities over the `orders` slot (Postgres in the
// example; any backend with ledger_basic and keyvalue_cas): stock per SKU and balance per customer
// are ledger_basic counters, changed at most once per idempotency key for the configured
// retention, however many changes came after. An undo applies only after the change it undoes and
// reports `skipped` when there was nothing to undo. Each order's outcome is recorded here too, so
// a re-submitted orderId gets the first outcome back.
import { ApplicationFailure } from '@temporalio/common';
import type { LedgerChange, LedgerOutcome, Ops } from '../../drivers/capabilities';
import type { ActivityMap } from '../../sdk/pattern';
import { refusal } from '../refusal';
import type {
  LedgerChangeResult,
  LedgerUndoResult,
  OrderOutcome,
  PaymentRequest,
  StockRequest,
} from '../../workflows/saga/input';
import { orderKeys } from '../../workflows/saga/input';
import { legacyCount } from './legacy-ledger';

export type OrdersDriver = Ops<'keyvalue_basic' | 'keyvalue_cas' | 'ledger_basic'>;

function positive(what: string, n: number): number {
  if (!Number.isInteger(n) || n <= 0) throw ApplicationFailure.nonRetryable(`${what} must be a positive integer`);
  return n;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function ordersActivities(driver: OrdersDriver, retentionMs: number) {
  /**
   * Applies a change; a key without a counter starts from the blob ledger an earlier version kept
   * at the same key when there is one (so balances carry over an upgrade), else from opening.
   */
  const apply = async (
    key: string,
    changeId: string,
    change: Omit<LedgerChange, 'retentionMs' | 'initial'>,
    opening: number | undefined,
  ): Promise<LedgerOutcome> => {
    const outcome = await driver.applyChange(key, changeId, { ...change, retentionMs });
    if (outcome.reason !== 'missing') return outcome;
    const initial = (await legacyCount(driver, key)) ?? opening;
    if (initial === undefined) return outcome;
    return driver.applyChange(key, changeId, { ...change, initial, retentionMs });
  };

  const take = async (
    ledgerKey: string,
    changeId: string,
    amount: number,
    opening: number | undefined,
    refuse: { type: string; missing: string; insufficient: (now: number | null) => string },
  ): Promise<LedgerChangeResult> => {
    const outcome = await apply(ledgerKey, changeId, { delta: -amount, floor: 0 }, opening);
    if (outcome.reason === 'missing') throw refusal(refuse.missing, refuse.type);
    if (outcome.reason === 'insufficient') throw refusal(refuse.insufficient(outcome.now), refuse.type);
    return outcome;
  };

  // An undo applies only after the change it undoes: the saga may compensate an action that failed.
  const giveBack = async (
    ledgerKey: string,
    changeId: string,
    undoes: string,
    amount: number,
  ): Promise<LedgerUndoResult> => {
    const outcome = await driver.applyChange(ledgerKey, changeId, { delta: amount, onlyAfter: undoes, retentionMs });
    if (outcome.reason !== 'not_after') return outcome;
    return { ...outcome, skipped: `nothing to undo: ${undoes} was never applied to ${ledgerKey}` };
  };

  return {
    reserveStock: async (key: string, r: StockRequest): Promise<LedgerChangeResult> =>
      take(orderKeys.stock(r.sku), `${key}:reserveStock`, positive('quantity', r.quantity), r.openingStock, {
        type: 'OutOfStock',
        missing: `unknown SKU ${r.sku}`,
        insufficient: (now) => `SKU ${r.sku}: ${now ?? 0} left, ${r.quantity} asked`,
      }),
    releaseStock: async (key: string, r: StockRequest): Promise<LedgerUndoResult> =>
      giveBack(orderKeys.stock(r.sku), `${key}:releaseStock`, `${key}:reserveStock`, positive('quantity', r.quantity)),
    charge: async (key: string, r: PaymentRequest): Promise<LedgerChangeResult> =>
      take(orderKeys.account(r.customer), `${key}:charge`, positive('amount', r.amount), r.openingBalance, {
        type: 'PaymentDeclined',
        missing: `unknown customer ${r.customer}`,
        insufficient: () => `customer ${r.customer}: balance too low`,
      }),
    refund: async (key: string, r: PaymentRequest): Promise<LedgerUndoResult> =>
      giveBack(orderKeys.account(r.customer), `${key}:refund`, `${key}:charge`, positive('amount', r.amount)),
    /** The recorded outcome of an order, or null when none is recorded (or it is past the retention). */
    async orderOutcome(orderId: string): Promise<OrderOutcome | null> {
      const stored = await driver.get(orderKeys.outcome(orderId));
      return stored ? (JSON.parse(decoder.decode(stored)) as OrderOutcome) : null;
    },
    /** Records an order's outcome unless one is recorded already; returns the one recorded first. */
    async recordOrderOutcome(orderId: string, outcome: OrderOutcome): Promise<OrderOutcome> {
      const key = orderKeys.outcome(orderId);
      // Create-only: the first outcome recorded stays; it expires with the change ids it stands for.
      const written = await driver.compareAndSet(
        key,
        encoder.encode(JSON.stringify(outcome)),
        null,
        Math.ceil(retentionMs / 1000),
      );
      if (written.ok) return outcome;
      const first = await driver.get(key);
      return first ? (JSON.parse(decoder.decode(first)) as OrderOutcome) : outcome;
    },
  } satisfies ActivityMap;
}

/** The orders slot's activities, as the order workflow's typed proxy sees them. */
export type OrdersActivities = ReturnType<typeof ordersActivities>;
