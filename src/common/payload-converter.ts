// The payload converter shared by worker, workflows and client: JSON, except that bytes
// (Uint8Array) anywhere in a value travel as {"$bytes": "<base64>"} and come back as bytes.
// Temporal's default JSON converter would turn them into {"0":…,"1":…} objects.
import {
  BinaryPayloadConverter,
  CompositePayloadConverter,
  type Payload,
  type PayloadConverterWithEncoding,
  UndefinedPayloadConverter,
} from '@temporalio/common';
import { decodeBase64, encodeBase64, utf8 } from './base64';

const BYTES_KEY = '$bytes';

// Realm-safe: in the workflow sandbox, TextEncoder hands out Uint8Arrays of the host realm,
// which fail `instanceof Uint8Array` there.
function isBytes(v: unknown): v is Uint8Array {
  return Object.prototype.toString.call(v) === '[object Uint8Array]';
}

export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (isBytes(v) ? { [BYTES_KEY]: encodeBase64(v) } : v));
}

export function fromJson<T>(text: string): T {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const keys = Object.keys(v);
      const encoded = (v as Record<string, unknown>)[BYTES_KEY];
      if (keys.length === 1 && typeof encoded === 'string') return decodeBase64(encoded);
    }
    return v;
  }) as T;
}

class BytesAwareJsonPayloadConverter implements PayloadConverterWithEncoding {
  readonly encodingType = 'json/plain';

  toPayload(value: unknown): Payload | undefined {
    if (value === undefined) return undefined;
    return {
      metadata: { encoding: utf8.encode('json/plain') },
      data: utf8.encode(toJson(value)),
    };
  }

  fromPayload<T>(payload: Payload): T {
    if (!payload.data) throw new Error('json/plain payload without data');
    return fromJson<T>(utf8.decode(payload.data));
  }
}

export const payloadConverter = new CompositePayloadConverter(
  new UndefinedPayloadConverter(),
  new BinaryPayloadConverter(),
  new BytesAwareJsonPayloadConverter(),
);
