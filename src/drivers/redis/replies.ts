// Bytes to and from ioredis: Buffers sent without copying, replies read back as Buffers, and
// headers stored as JSON read back leniently (a foreign or damaged value yields no headers).
import type { Headers } from '../capabilities';
import { DriverError } from '../errors';
import { DRIVER } from './errors';

/** A Buffer view of bytes without copying (ioredis sends Buffers as they are). */
export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function asBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  throw new DriverError(DRIVER, 'Unavailable', `unexpected reply from server: ${typeof value}`);
}

export function headersFrom(value: unknown): Headers {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  const out: Headers = {};
  for (const [name, v] of Object.entries(value)) if (typeof v === 'string') out[name] = v;
  return out;
}

export function parseHeaders(json: Buffer | string | null | undefined): Headers {
  if (json === null || json === undefined) return {};
  try {
    return headersFrom(JSON.parse(json.toString()));
  } catch {
    return {};
  }
}
