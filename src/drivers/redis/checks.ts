// Argument checks of the shared limits module, bound to this driver's name, plus the one unit
// conversion Redis needs: its expiries and timeouts are whole milliseconds.
import type { Headers } from '../capabilities';
import {
  checkHeaders as checkHeadersOf,
  checkKeyList as checkKeyListOf,
  checkMaxDeliveries as checkMaxDeliveriesOf,
  checkMs as checkMsOf,
  checkName as checkNameOf,
  type Limits,
} from '../limits';
import { DRIVER, invalid } from './errors';

export const checkName = (kind: string, name: unknown, limits: Limits): string =>
  checkNameOf(DRIVER, kind, name, limits);
export const checkHeaders = (headers: unknown): Headers => checkHeadersOf(DRIVER, headers);

/** Whole milliseconds: Redis takes integers. */
export const checkMs = (name: string, value: unknown, options: { min?: number; fallback?: number }): number =>
  Math.ceil(checkMsOf(DRIVER, name, value, options));
export const checkMaxDeliveries = (value: unknown): number => checkMaxDeliveriesOf(DRIVER, value);
export const checkKeyList = (keys: unknown, limits: Limits): string[] => checkKeyListOf(DRIVER, keys, limits);

/** Seconds to whole milliseconds for PX/PEXPIRE: never 0, so a tiny TTL still expires rather than fails. */
export function ttlMs(ttlSeconds: number): number {
  const ms = Math.max(1, Math.round(ttlSeconds * 1000));
  if (!Number.isSafeInteger(ms)) throw invalid('ttlSeconds is too large');
  return ms;
}
