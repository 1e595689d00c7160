// Input rules of ledger_basic every driver enforces before talking to its backend, so a bad change
// gets the same typed error whatever the backend.
import type { LedgerChange } from './capabilities';
import { DriverError } from './errors';
import { checkKey, type Limits } from './limits';

/** Change ids are short identifiers (idempotency keys), not payloads. */
export const MAX_CHANGE_ID_BYTES = 512;
/** Ten years: longer is a mistake rather than a retention. */
export const MAX_RETENTION_MS = 10 * 365 * 24 * 3_600_000;

export interface CheckedChange {
  key: string;
  changeId: string;
  delta: number;
  initial: number | null;
  floor: number | null;
  onlyAfter: string | null;
  retentionMs: number;
}

function checkChangeId(driver: string, what: string, id: unknown): string {
  if (typeof id !== 'string' || id.length === 0) {
    throw new DriverError(driver, 'InvalidArgument', `${what} must be a non-empty string`);
  }
  if (
    Buffer.byteLength(id, 'utf8') > MAX_CHANGE_ID_BYTES ||
    id.includes('\0') ||
    (id.isWellFormed && !id.isWellFormed())
  ) {
    throw new DriverError(
      driver,
      'InvalidArgument',
      `${what} must be valid UTF-8 without NUL, at most ${MAX_CHANGE_ID_BYTES} bytes`,
    );
  }
  return id;
}

function checkInteger(driver: string, what: string, value: unknown, optional: boolean): number | null {
  if (value === undefined && optional) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new DriverError(driver, 'InvalidArgument', `${what} must be a safe integer`);
  }
  return value;
}

/** Validates one applyChange call. */
export function checkLedgerChange(
  driver: string,
  limits: Limits,
  key: unknown,
  changeId: unknown,
  change: LedgerChange,
): CheckedChange {
  const k = checkKey(driver, key, limits);
  if (k.includes('\0')) throw new DriverError(driver, 'InvalidArgument', 'key must not contain NUL characters');
  if (typeof change !== 'object' || change === null) {
    throw new DriverError(driver, 'InvalidArgument', 'change must be an object');
  }
  const retentionMs = change.retentionMs;
  if (
    typeof retentionMs !== 'number' ||
    !Number.isInteger(retentionMs) ||
    retentionMs < 1 ||
    retentionMs > MAX_RETENTION_MS
  ) {
    throw new DriverError(
      driver,
      'InvalidArgument',
      `change.retentionMs must be a whole number of milliseconds from 1 to ${MAX_RETENTION_MS}`,
    );
  }
  return {
    key: k,
    changeId: checkChangeId(driver, 'changeId', changeId),
    delta: checkInteger(driver, 'change.delta', change.delta, false)!,
    initial: checkInteger(driver, 'change.initial', change.initial, true),
    floor: checkInteger(driver, 'change.floor', change.floor, true),
    onlyAfter: change.onlyAfter === undefined ? null : checkChangeId(driver, 'change.onlyAfter', change.onlyAfter),
    retentionMs,
  };
}
