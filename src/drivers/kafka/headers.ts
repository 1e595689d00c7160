// Record headers: user headers as Kafka headers (UTF-8 values), plus the driver's message id.
import type { IHeaders } from 'kafkajs';
import type { Headers } from '../capabilities';
import { DriverError } from '../errors';
import { checkHeaders as checkHeadersOf } from '../limits';
import { DRIVER } from './errors';

export const MESSAGE_ID_HEADER = 'prism-message-id';
const INTERNAL = new Set([MESSAGE_ID_HEADER]);

/** The shared header rules, and the driver's own header names are not the user's to set. */
export function checkHeaders(headers: unknown): Headers {
  const checked = checkHeadersOf(DRIVER, headers);
  for (const name of Object.keys(checked)) {
    if (INTERNAL.has(name)) {
      throw new DriverError(DRIVER, 'InvalidArgument', `header name "${name}" is reserved by the driver`);
    }
  }
  return checked;
}

export function toKafkaHeaders(user: Headers, internal: Record<string, string> = {}): IHeaders {
  return { ...user, ...internal };
}

/** The checked user headers (the driver's own copy) with the message id added in place. */
export function withMessageId(user: Headers, messageId: string): IHeaders {
  const headers: IHeaders = user;
  headers[MESSAGE_ID_HEADER] = messageId;
  return headers;
}

function text(v: Buffer | string | (Buffer | string)[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return v.length ? text(v[v.length - 1]) : undefined;
  return typeof v === 'string' ? v : v.toString('utf8');
}

/** User headers of a record (the driver's own left out). */
export function fromKafkaHeaders(h: IHeaders | undefined): Headers {
  const out: Headers = {};
  if (!h) return out;
  for (const [name, value] of Object.entries(h)) {
    if (INTERNAL.has(name)) continue;
    const t = text(value);
    if (t !== undefined) out[name] = t;
  }
  return out;
}

export function headerText(h: IHeaders | undefined, name: string): string | undefined {
  return h ? text(h[name]) : undefined;
}
