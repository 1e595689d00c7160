// AES-256-GCM payload codec. Each payload (metadata and data, serialized as the Payload proto) is
// encrypted whole, so the encoding and the value are both hidden; the key id travels in clear
// metadata so the right key decrypts it after a rotation. Wire format of `data`:
//   12-byte random IV | ciphertext | 16-byte GCM tag
// The key id is also the GCM additional data: a payload relabelled with another key id fails.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { type Payload, type PayloadCodec, ValueError } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { KEY_BYTES, loadCodecKeys } from './keys';
import type { CodecConfig } from './config';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const ProtoPayload = temporal.api.common.v1.Payload;

export class AesGcmCodec implements PayloadCodec {
  private readonly keys: ReadonlyMap<string, Buffer>;

  constructor(
    keys: ReadonlyMap<string, Uint8Array>,
    readonly activeKeyId: string,
  ) {
    const copy = new Map<string, Buffer>();
    for (const [id, key] of keys) {
      if (key.length !== KEY_BYTES) throw new ValueError(`codec key ${id} is not ${KEY_BYTES} bytes`);
      copy.set(id, Buffer.from(key));
    }
    if (!copy.has(activeKeyId)) throw new ValueError(`no codec key with id ${activeKeyId}`);
    this.keys = copy;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.encrypt(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.decrypt(payload));
  }

  encrypt(payload: Payload): Payload {
    const key = this.keys.get(this.activeKeyId)!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(this.activeKeyId, 'utf8'));
    const plain = ProtoPayload.encode(payload).finish();
    const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: {
        encoding: Buffer.from(ENCRYPTED_ENCODING),
        [KEY_ID_METADATA]: Buffer.from(this.activeKeyId),
      },
      data,
    };
  }

  /** Payloads that are not encrypted pass through: histories from before encryption stay readable. */
  decrypt(payload: Payload): Payload {
    const encoding = payload.metadata?.encoding;
    if (!encoding || Buffer.from(encoding).toString() !== ENCRYPTED_ENCODING) return payload;
    const rawId = payload.metadata?.[KEY_ID_METADATA];
    if (!rawId) throw new ValueError(`encrypted payload without ${KEY_ID_METADATA} metadata`);
    const keyId = Buffer.from(rawId).toString();
    const key = this.keys.get(keyId);
    if (!key) throw new ValueError(`payload encrypted with key "${keyId}", which this codec does not have`);
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < IV_BYTES + TAG_BYTES) throw new ValueError('encrypted payload is too short');
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(keyId, 'utf8'));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new ValueError(`payload encrypted with key "${keyId}" failed authentication (wrong key or tampered)`);
    }
    return ProtoPayload.decode(plain);
  }
}

/** The codecs a config asks for: none when encryption is off. */
export function payloadCodecsFromConfig(codec: CodecConfig | undefined, env?: NodeJS.ProcessEnv): PayloadCodec[] {
  if (!codec?.enabled) return [];
  return [new AesGcmCodec(loadCodecKeys(codec, env), codec.active_key_id!)];
}

/** A codec for decoding only (the codec server without encryption enabled still needs keys). */
export function codecFromConfig(codec: CodecConfig, env?: NodeJS.ProcessEnv): AesGcmCodec {
  const keys = loadCodecKeys(codec, env);
  const active = codec.active_key_id ?? codec.keys[0]?.id;
  if (active === undefined) throw new ValueError('codec.keys: the codec server needs at least one key');
  return new AesGcmCodec(keys, active);
}
