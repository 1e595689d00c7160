// Loads the codec's AES-256 keys named by the config. A key is 32 bytes: a file holding the raw
// bytes, or text (file or environment variable) with 64 hex digits or 44 base64 characters.
import { readFileSync } from 'node:fs';
import type { CodecConfig } from './config';
import { registerSecret } from '../common/secret-registry';
import { SecretError } from './secrets';

export const KEY_BYTES = 32;

export function parseKeyMaterial(material: Buffer): Buffer | undefined {
  if (material.length === KEY_BYTES) return material;
  const text = material.toString('utf8').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/_-]{42,44}={0,2}$/.test(text)) {
    const bytes = Buffer.from(text, 'base64');
    if (bytes.length === KEY_BYTES) return bytes;
  }
  return undefined;
}

/** key id → key bytes; problems name the key id and its source, never the material. */
export function loadCodecKeys(codec: CodecConfig, env: NodeJS.ProcessEnv = process.env): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  const problems: string[] = [];
  codec.keys.forEach((key, i) => {
    const field = `codec.keys[${i}]`;
    let material: Buffer;
    let source: string;
    if ('env' in key) {
      source = `environment variable ${key.env}`;
      const value = env[key.env];
      if (!value) {
        problems.push(`${field}: ${source} is not set`);
        return;
      }
      material = Buffer.from(value, 'utf8');
    } else {
      source = `key file ${key.file}`;
      try {
        material = readFileSync(key.file);
      } catch (err) {
        problems.push(`${field}: cannot read ${source}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
        return;
      }
    }
    const bytes = parseKeyMaterial(material);
    if (!bytes) {
      problems.push(`${field}: ${source} does not hold a 32-byte key (raw, 64 hex digits or base64)`);
      return;
    }
    registerSecret(material.toString('utf8').trim());
    keys.set(key.id, bytes);
  });
  if (problems.length > 0) throw new SecretError(problems);
  return keys;
}
