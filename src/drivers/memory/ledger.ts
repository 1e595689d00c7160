// ledger_basic in process memory: counters in one map, change records (key + change id → expiry)
// in another. JavaScript runs one call at a time, so each applyChange is atomic by construction.
import type { LedgerBasic, LedgerChange, LedgerOutcome } from '../capabilities';
import { checkLedgerChange } from '../ledger-checks';
import { checkKey, type Limits } from '../limits';
import { DRIVER, now } from './context';

export class MemoryLedger implements LedgerBasic {
  private readonly counters = new Map<string, number>();
  /** `key \0 changeId` → expiry (monotonic ms). Keys hold no NUL, so the pair is unambiguous. */
  private readonly changes = new Map<string, number>();

  constructor(private readonly limits: Limits) {}

  async applyChange(key: string, changeId: string, change: LedgerChange): Promise<LedgerOutcome> {
    const c = checkLedgerChange(DRIVER, this.limits, key, changeId, change);
    const stored = this.counters.get(c.key) ?? null;
    const t = now();
    const remembered = (id: string): boolean => (this.changes.get(`${c.key}\0${id}`) ?? -Infinity) > t;
    if (remembered(c.changeId)) return { now: stored, applied: false, reason: 'duplicate' };
    if (c.onlyAfter !== null && !remembered(c.onlyAfter)) return { now: stored, applied: false, reason: 'not_after' };
    const before = stored ?? c.initial;
    if (before === null) return { now: null, applied: false, reason: 'missing' };
    const after = before + c.delta;
    if (c.floor !== null && after < c.floor) return { now: stored, applied: false, reason: 'insufficient' };
    this.counters.set(c.key, after);
    this.changes.set(`${c.key}\0${c.changeId}`, t + c.retentionMs);
    return { now: after, applied: true };
  }

  async balance(key: string): Promise<number | null> {
    return this.counters.get(checkKey(DRIVER, key, this.limits)) ?? null;
  }

  /** Forgets change records past their retention (reads already ignore them). */
  sweep(): void {
    const t = now();
    for (const [id, expiresAt] of this.changes) if (expiresAt <= t) this.changes.delete(id);
  }

  clear(): void {
    this.counters.clear();
    this.changes.clear();
  }
}
