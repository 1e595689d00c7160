// A counter that changes at most once per idempotency key: the counter and the keys of the last
// changes applied to it live in one value, changed by compare-and-set, so "apply the change" and
// "remember it was applied" are one atomic write on any keyvalue_cas backend.
import { ApplicationFailure } from '@temporalio/common';
import type { KeyValueCas } from '../../drivers/capabilities';
import type { LedgerChange } from '../../workflows/saga/order-types';

/** How many applied keys a ledger remembers: retries of older changes would apply again. */
export const REMEMBERED_CHANGES = 500;
const MAX_CAS_ROUNDS = 50;

export interface Ledger {
  count: number;
  applied: string[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeLedger(ledger: Ledger): Uint8Array {
  return encoder.encode(JSON.stringify(ledger));
}

export function decodeLedger(bytes: Uint8Array): Ledger {
  const parsed = JSON.parse(decoder.decode(bytes)) as Partial<Ledger>;
  if (typeof parsed.count !== 'number' || !Array.isArray(parsed.applied)) throw new Error('not a saga ledger');
  return { count: parsed.count, applied: parsed.applied };
}

/**
 * Applies change to the counter under key once per changeId. change gets the current count (null
 * when the ledger does not exist) and returns the new one, or throws a non-retryable failure.
 * With onlyAfter, the change applies only if that change was applied (an undo of an action that
 * never took effect does nothing).
 */
export async function applyOnce(
  kv: KeyValueCas,
  key: string,
  changeId: string,
  change: (count: number | null) => number,
  onlyAfter?: string,
): Promise<LedgerChange> {
  for (let round = 0; round < MAX_CAS_ROUNDS; round++) {
    const current = await kv.getVersioned(key);
    const ledger = current ? decodeLedger(current.value) : null;
    if (ledger?.applied.includes(changeId)) return { now: ledger.count, applied: false };
    if (onlyAfter !== undefined && !ledger?.applied.includes(onlyAfter)) {
      return { now: ledger?.count ?? 0, applied: false };
    }
    const count = change(ledger?.count ?? null);
    const applied = [...(ledger?.applied ?? []), changeId].slice(-REMEMBERED_CHANGES);
    const result = await kv.compareAndSet(key, encodeLedger({ count, applied }), current?.version ?? null);
    if (result.ok) return { now: count, applied: true };
  }
  throw ApplicationFailure.retryable(`ledger ${key}: too many concurrent changes`, 'LedgerContention');
}
