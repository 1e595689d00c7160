// Message headers: user headers travel as NATS headers when NATS can carry them verbatim; the
// rest (names NATS rejects, values with CR/LF or surrounding whitespace, names in the reserved
// `Nats-`/`Prism-` namespaces) travel JSON-encoded in one `Prism-Headers` header.
import { headersFromRecord, headers as natsHeaders, type MsgHdrs } from './client';
import type { Headers } from '../capabilities';
import { checkHeaders as checkHeadersOf } from '../limits';
import { DRIVER } from './errors';

/** JetStream's de-duplication header; the driver uses it as the message id everywhere. */
export const MESSAGE_ID_HEADER = 'Nats-Msg-Id';
/** User headers NATS cannot carry verbatim, as base64url(JSON). */
export const ENCODED_HEADERS = 'Prism-Headers';
/** On dead letters: how many times the message had been delivered. */
export const DELIVERY_COUNT_HEADER = 'Prism-Delivery-Count';

const RESERVED = /^(nats|prism)-/i;

function isNativeName(name: string): boolean {
  if (name.length === 0 || RESERVED.test(name)) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 33 || c > 126 || c === 58 /* : */) return false;
  }
  return true;
}

function isNativeValue(value: string): boolean {
  return !/[\r\n]/.test(value) && value === value.trim();
}

export const checkHeaders = (headers: unknown): Headers => checkHeadersOf(DRIVER, headers);

/** Builds the NATS headers of a message: user headers plus the driver's own (`internal`). */
export function toNatsHeaders(user: Headers, internal: Record<string, string> = {}): MsgHdrs | undefined {
  const entries = Object.entries(user);
  const internalEntries = Object.entries(internal);
  if (entries.length === 0 && internalEntries.length === 0) return undefined;
  const h = natsHeaders();
  const encoded: Headers = {};
  let anyEncoded = false;
  for (const [name, value] of entries) {
    if (isNativeName(name) && isNativeValue(value)) {
      h.set(name, value);
    } else {
      encoded[name] = value;
      anyEncoded = true;
    }
  }
  if (anyEncoded) h.set(ENCODED_HEADERS, Buffer.from(JSON.stringify(encoded), 'utf8').toString('base64url'));
  for (const [name, value] of internalEntries) h.set(name, value);
  return h;
}

/**
 * toNatsHeaders for the messages of one batch, which mostly share one headers object (a multicast
 * gives every target the same): the user headers are checked and laid out once per object, and
 * each message adds only the driver's own (safe values: ids, base64url), so a large batch does not
 * redo that work per message. `shared` is the caller's headers object, the key of that layout;
 * `user` its checked copy.
 */
export function batchHeaders(): (
  shared: object | undefined,
  user: Headers,
  internal: Record<string, string>,
) => MsgHdrs | undefined {
  const laidOut = new Map<object, Record<string, string[]>>();
  const layOut = (user: Headers): Record<string, string[]> => {
    const record: Record<string, string[]> = {};
    for (const [name, values] of toNatsHeaders(user) ?? []) record[name] = values;
    return record;
  };
  return (shared, user, internal) => {
    let base = shared === undefined ? undefined : laidOut.get(shared);
    if (base === undefined) {
      base = layOut(user);
      if (shared !== undefined) laidOut.set(shared, base);
    }
    const record: Record<string, string[]> = {};
    for (const name in base) record[name] = [...base[name]];
    for (const name in internal) record[name] = [internal[name]];
    return Object.keys(record).length === 0 ? undefined : headersFromRecord(record);
  };
}

/** The user headers of a received message (the driver's own are left out). */
export function fromNatsHeaders(h: MsgHdrs | undefined): Headers {
  const out: Headers = {};
  if (!h) return out;
  for (const [name, values] of h) {
    if (RESERVED.test(name) || values.length === 0) continue;
    out[name] = values[values.length - 1];
  }
  const encoded = h.get(ENCODED_HEADERS);
  if (encoded) {
    try {
      const decoded: unknown = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
      if (typeof decoded === 'object' && decoded !== null) {
        for (const [name, value] of Object.entries(decoded)) {
          if (typeof value === 'string') out[name] = value;
        }
      }
    } catch {
      // A foreign Prism-Headers value: ignore it.
    }
  }
  return out;
}

/** A header the driver set, or undefined. */
export function internalHeader(h: MsgHdrs | undefined, name: string): string | undefined {
  if (!h || !h.has(name)) return undefined;
  return h.get(name);
}
