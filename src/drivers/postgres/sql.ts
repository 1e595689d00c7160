// Small SQL helpers shared by the postgres driver's parts.
import { DriverError } from '../errors';
import { checkMs as checkMsOf } from '../limits';

export const DRIVER = 'postgres';

/** Quotes an identifier for interpolation into SQL text. */
export function quoteIdent(name: string): string {
  if (name.length === 0 || name.includes('\0')) {
    throw new DriverError(DRIVER, 'InvalidArgument', 'identifier must be non-empty and free of NUL characters');
  }
  return `"${name.replace(/"/g, '""')}"`;
}

/** schema.name, both quoted. */
export function qualified(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/** A Buffer sharing the bytes of a Uint8Array, for query parameters. */
export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A plain Uint8Array copy of a bytea column (pg returns pooled Buffers). */
export function fromBytea(value: Buffer): Uint8Array {
  return new Uint8Array(value);
}

/** Rejects text Postgres cannot store (NUL characters). */
export function checkText(what: string, value: unknown, maxBytes = 1024): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new DriverError(DRIVER, 'InvalidArgument', `${what} must be a non-empty string`);
  }
  if (value.includes('\0')) {
    throw new DriverError(DRIVER, 'InvalidArgument', `${what} must not contain NUL characters`);
  }
  if (value.isWellFormed && !value.isWellFormed()) {
    throw new DriverError(DRIVER, 'InvalidArgument', `${what} is not valid UTF-8 (lone surrogate)`);
  }
  if (Buffer.byteLength(value, 'utf8') > maxBytes) {
    throw new DriverError(DRIVER, 'InvalidArgument', `${what} is longer than ${maxBytes} bytes`);
  }
  return value;
}

/** Postgres text cannot hold NUL; keys are checked by checkKey first, then by this. */
export function checkNoNul(what: string, value: string): string {
  if (value.includes('\0')) {
    throw new DriverError(DRIVER, 'InvalidArgument', `${what} must not contain NUL characters`);
  }
  return value;
}

/** Validates string headers (names and values). */
export function checkHeaders(headers: unknown): Record<string, string> {
  if (headers === undefined || headers === null) return {};
  if (typeof headers !== 'object' || Array.isArray(headers)) {
    throw new DriverError(DRIVER, 'InvalidArgument', 'headers must be an object of strings');
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
    if (typeof value !== 'string') {
      throw new DriverError(DRIVER, 'InvalidArgument', `header "${name}" must be a string`);
    }
    if (name.includes('\0') || value.includes('\0')) {
      throw new DriverError(DRIVER, 'InvalidArgument', `header "${name}" must not contain NUL characters`);
    }
    out[name] = value;
  }
  return out;
}

/** A duration in milliseconds (the shared rule, with this driver's name on errors). */
export const checkMs = (what: string, value: unknown, options: { min?: number; fallback?: number } = {}): number =>
  checkMsOf(DRIVER, what, value, options);

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
