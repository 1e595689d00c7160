// What every part of the in-process driver shares: its name, the limits, the closed state, the
// monotonic clock and the copying of bytes, so each part reports and expires the same way.
import { performance } from 'node:perf_hooks';
import { DriverError } from '../errors';
import type { Limits } from '../limits';

export const DRIVER = 'memory';

/** Monotonic milliseconds (fractional): expiry must not jump with the wall clock. */
export const now = (): number => performance.now();

/** Copies in and out, so callers never share buffers with the store. */
export const copy = (bytes: Uint8Array): Uint8Array => new Uint8Array(bytes);

export function invalid(message: string): DriverError {
  return new DriverError(DRIVER, 'InvalidArgument', message);
}

export class MemoryContext {
  private closed = false;

  constructor(readonly limits: Limits) {}

  get isClosed(): boolean {
    return this.closed;
  }

  markClosed(): void {
    this.closed = true;
  }

  /** Every operation starts here: a closed driver fails before looking at its arguments. */
  open(): void {
    if (this.closed) throw new DriverError(DRIVER, 'Unavailable', 'the driver is closed');
  }
}
