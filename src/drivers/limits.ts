// Input limits every driver enforces before talking to its backend, so bad input gets the same
// typed error whatever the backend.
import { DriverError } from './errors';

export interface Limits {
  maxKeyBytes: number;
  maxValueBytes: number;
}

export const DEFAULT_LIMITS: Limits = { maxKeyBytes: 1024, maxValueBytes: 1024 * 1024 };

export function checkKey(driver: string, key: unknown, limits: Limits): string {
  return checkKeyLike(driver, 'key', key, limits);
}

/** A key, or a map's field (keyvalue_hash), which is held to the same rules. */
function checkKeyLike(driver: string, what: 'key' | 'field', key: unknown, limits: Limits): string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new DriverError(driver, 'InvalidArgument', `${what} must be a non-empty string`);
  }
  if (Buffer.byteLength(key, 'utf8') > limits.maxKeyBytes) {
    throw new DriverError(driver, 'KeyTooLong', `${what} is longer than ${limits.maxKeyBytes} bytes`);
  }
  if (key.isWellFormed && !key.isWellFormed()) {
    throw new DriverError(driver, 'InvalidArgument', `${what} is not valid UTF-8 (lone surrogate)`);
  }
  return key;
}

export function checkValue(driver: string, value: unknown, limits: Limits): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new DriverError(driver, 'InvalidArgument', 'value must be bytes (Uint8Array)');
  }
  if (value.byteLength > limits.maxValueBytes) {
    throw new DriverError(
      driver,
      'ValueTooLarge',
      `value is ${value.byteLength} bytes, more than the limit of ${limits.maxValueBytes}`,
    );
  }
  return value;
}

export function checkTtl(driver: string, ttlSeconds: unknown): number {
  if (typeof ttlSeconds !== 'number' || !Number.isFinite(ttlSeconds) || ttlSeconds <= 0) {
    throw new DriverError(driver, 'InvalidArgument', 'ttlSeconds must be a positive number');
  }
  return ttlSeconds;
}

export function checkLimit(driver: string, limit: unknown, fallback: number, max = 10_000): number {
  if (limit === undefined) return fallback;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new DriverError(driver, 'InvalidArgument', `limit must be an integer from 1 to ${max}`);
  }
  return limit;
}

/** A queue, topic or stream name: the same rules as a key. */
export function checkName(driver: string, kind: string, name: unknown, limits: Limits): string {
  const invalid = (message: string) => new DriverError(driver, 'InvalidArgument', message);
  if (typeof name !== 'string' || name.length === 0) throw invalid(`${kind} must be a non-empty string`);
  if (Buffer.byteLength(name, 'utf8') > limits.maxKeyBytes) {
    throw invalid(`${kind} is longer than ${limits.maxKeyBytes} bytes`);
  }
  if (!name.isWellFormed()) throw invalid(`${kind} is not valid UTF-8 (lone surrogate)`);
  return name;
}

/** Message headers: an object of strings (undefined means none). */
export function checkHeaders(driver: string, headers: unknown): Record<string, string> {
  if (headers === undefined) return {};
  if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) {
    throw new DriverError(driver, 'InvalidArgument', 'headers must be an object of strings');
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string')
      throw new DriverError(driver, 'InvalidArgument', `header "${name}" must be a string`);
    out[name] = value;
  }
  return out;
}

/** Keys one batch call (getMany, setMany, deleteMany) may name at most, whatever the backend. */
export const MAX_BATCH_KEYS = 10_000;

/** An array of at most MAX_BATCH_KEYS items (`what`: "keys", "entries"). */
export function checkBatch(driver: string, what: string, items: unknown): unknown[] {
  if (!Array.isArray(items)) throw new DriverError(driver, 'InvalidArgument', `${what} must be an array`);
  if (items.length > MAX_BATCH_KEYS) {
    throw new DriverError(
      driver,
      'InvalidArgument',
      `at most ${MAX_BATCH_KEYS} ${what} per batch, got ${items.length}`,
    );
  }
  return items;
}

export function checkKeyList(driver: string, keys: unknown, limits: Limits): string[] {
  return checkBatch(driver, 'keys', keys).map((key) => checkKey(driver, key, limits));
}

/** A map's field (keyvalue_hash). */
export function checkField(driver: string, field: unknown, limits: Limits): string {
  return checkKeyLike(driver, 'field', field, limits);
}

export function checkFieldList(driver: string, fields: unknown, limits: Limits): string[] {
  return checkBatch(driver, 'fields', fields).map((field) => checkField(driver, field, limits));
}

/** setFields' entries, every one checked before anything is written; a field named twice keeps the last value. */
export function checkFieldEntries(driver: string, entries: unknown, limits: Limits): Map<string, Uint8Array> {
  const byField = new Map<string, Uint8Array>();
  for (const entry of checkBatch(driver, 'entries', entries)) {
    if (entry === null || typeof entry !== 'object') {
      throw new DriverError(driver, 'InvalidArgument', 'each entry must be { field, value }');
    }
    const { field, value } = entry as { field: unknown; value: unknown };
    const name = checkField(driver, field, limits);
    byField.delete(name);
    byField.set(name, checkValue(driver, value, limits));
  }
  return byField;
}

/** A duration in milliseconds, at least `min` (default 0); `fallback` when absent, if given. */
export function checkMs(
  driver: string,
  name: string,
  value: unknown,
  options: { min?: number; fallback?: number } = {},
): number {
  if (value === undefined && options.fallback !== undefined) return options.fallback;
  const min = options.min ?? 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new DriverError(driver, 'InvalidArgument', `${name} must be a number of milliseconds, at least ${min}`);
  }
  return value;
}

/**
 * Deliveries without an ack before a message is dead-lettered, when a receive names none. The
 * same for every driver, so a poison message behaves alike whatever queue backend holds it.
 */
export const DEFAULT_MAX_DELIVERIES = 5;
export const MAX_MAX_DELIVERIES = 1_000_000;

export function checkMaxDeliveries(driver: string, value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_DELIVERIES;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_MAX_DELIVERIES) {
    throw new DriverError(
      driver,
      'InvalidArgument',
      `maxDeliveries must be an integer from 1 to ${MAX_MAX_DELIVERIES}`,
    );
  }
  return value;
}
