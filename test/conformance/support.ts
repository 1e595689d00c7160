// Helpers shared by the keyvalue_* conformance suites. Everything here speaks the capability
// interfaces only, so the suites hold for any driver that declares them.
import assert from 'node:assert/strict';
import type { Capability } from '../../src/drivers/capabilities';
import { hasCapability, type DriverBase } from '../../src/drivers/driver';
import { isDriverError, type DriverErrorCode } from '../../src/drivers/errors';
import { DEFAULT_LIMITS } from '../../src/drivers/limits';
import type { DriverWith } from './harness';

export { DEFAULT_LIMITS };

export const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));

export const text = (value: Uint8Array | null | undefined): string | null =>
  value == null ? null : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');

/** The 256 byte values, in order. */
export function everyByte(): Uint8Array {
  return Uint8Array.from({ length: 256 }, (_, i) => i);
}

/** Deterministic, non-repeating-looking bytes (so truncation or reordering shows). */
export function patterned(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i += 1) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Asserts that actual holds exactly the expected bytes (any Uint8Array, Buffer included). */
export function assertBytes(actual: unknown, expected: Uint8Array, message?: string): void {
  assert.ok(actual instanceof Uint8Array, message ?? `expected bytes, got ${String(actual)}`);
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
  const e = Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength);
  assert.equal(a.length, e.length, message ?? 'byte length differs');
  assert.ok(a.equals(e), message ?? 'bytes differ');
}

/** Asserts that run() rejects (asynchronously) with a DriverError of the given code. */
export async function assertDriverError(
  run: () => Promise<unknown>,
  code: DriverErrorCode,
  what = 'the call',
): Promise<void> {
  await assert.rejects(run, (err: unknown) => {
    assert.ok(isDriverError(err), `${what}: expected a DriverError, got ${String(err)}`);
    assert.equal(err.code, code, `${what}: expected code ${code}, got ${err.code} (${err.message})`);
    assert.equal(err.retryable, false, `${what}: ${code} must not be retryable`);
    return true;
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls check until it returns true. Generous on purpose: slowness of a loaded machine must not
 * fail a suite, only behaviour that never happens.
 */
export async function eventually(
  check: () => Promise<boolean>,
  what: string,
  { timeoutMs = 15_000, intervalMs = 100 } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    if (await check()) return;
    if (Date.now() > deadline) assert.fail(`${what}: still not true after ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

/** The same driver seen through another capability it must also declare. */
export function withCapability<C extends Capability>(driver: DriverBase, capability: C): DriverWith<C> {
  assert.ok(hasCapability(driver, capability), `${driver.driverName} must also declare ${capability}`);
  return driver;
}

/** The driver seen through another capability, or undefined when it does not declare it. */
export function ifCapability<C extends Capability>(driver: DriverBase, capability: C): DriverWith<C> | undefined {
  return hasCapability(driver, capability) ? driver : undefined;
}

/** Writes many keys, through setMany when the driver has it. */
export async function writeAll(driver: DriverBase, entries: { key: string; value: Uint8Array }[]): Promise<void> {
  const batch = ifCapability(driver, 'keyvalue_batch');
  const chunk = 250;
  for (let i = 0; i < entries.length; i += chunk) {
    const part = entries.slice(i, i + chunk);
    if (batch) await batch.setMany(part);
    else {
      const basic = withCapability(driver, 'keyvalue_basic');
      await Promise.all(part.map(({ key, value }) => basic.set(key, value)));
    }
  }
}

/** Deletes keys a case wrote, ignoring failures (cleanup must not mask the real result). */
export async function removeAll(driver: DriverBase, keys: string[]): Promise<void> {
  const batch = ifCapability(driver, 'keyvalue_batch');
  const basic = ifCapability(driver, 'keyvalue_basic');
  const chunk = 250;
  for (let i = 0; i < keys.length; i += chunk) {
    const part = keys.slice(i, i + chunk);
    try {
      if (batch) await batch.deleteMany(part);
      else if (basic) await Promise.all(part.map((key) => basic.delete(key)));
    } catch {
      // best effort
    }
  }
}
