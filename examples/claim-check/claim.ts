// Step 2: the pure logic — what goes inline and what is checked in, and the notice format.
// Pure (no I/O, no Node built-ins) so the workflow can use it and it unit-tests on its own.
import { decodeBase64, encodeBase64, utf8 } from '../../src/workflow';

/** What subscribers receive: the payload itself when small, else the key to claim it with. */
export type Notice =
  | { id: string; size: number; inline: string /* base64 */ }
  | { id: string; size: number; claim: string /* key in the payloads slot */ };

export function claimKey(keyPrefix: string, id: string): string {
  return `${keyPrefix}${id}`;
}

/** Payloads above the threshold are checked in; the rest travel inline. */
export function planNotice(id: string, payload: Uint8Array, thresholdBytes: number, keyPrefix: string): Notice {
  return payload.length > thresholdBytes
    ? { id, size: payload.length, claim: claimKey(keyPrefix, id) }
    : { id, size: payload.length, inline: encodeBase64(payload) };
}

export function encodeNotice(notice: Notice): Uint8Array {
  return utf8.encode(JSON.stringify(notice));
}

export function decodeNotice(bytes: Uint8Array): Notice {
  const value = JSON.parse(utf8.decode(bytes)) as Notice;
  if (typeof value?.id !== 'string' || typeof value.size !== 'number' || !('inline' in value || 'claim' in value)) {
    throw new Error('not a claim-check notice');
  }
  return value;
}

/** The inline payload of a notice, or null when it must be claimed. */
export function inlinePayload(notice: Notice): Uint8Array | null {
  return 'inline' in notice ? decodeBase64(notice.inline) : null;
}
