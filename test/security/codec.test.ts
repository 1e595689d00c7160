// The AES-256-GCM payload codec on its own: round trip, rotation, tampering, key loading.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { payloadConverter } from '../../src/common/payload-converter';
import { loadConfig } from '../../src/config/load';
import { AesGcmCodec, ENCRYPTED_ENCODING, KEY_ID_METADATA, payloadCodecsFromConfig } from '../../src/security/codec';
import { codecSchema } from '../../src/security/config';
import { loadCodecKeys, parseKeyMaterial } from '../../src/security/keys';
import { SecretError } from '../../src/security/secrets';
import { keyFile, tempDir, text } from './helpers';

const CONFIG_DIR = resolve(__dirname, '../../../config');

const k1 = randomBytes(32);
const k2 = randomBytes(32);

describe('AesGcmCodec', () => {
  it('encrypts metadata and data, and decodes back to the same payload', async () => {
    const codec = new AesGcmCodec(new Map([['k1', k1]]), 'k1');
    const plain = payloadConverter.toPayload({ card: '4111-1111-1111-1111', bytes: new Uint8Array([1, 2, 3]) })!;
    const [encoded] = await codec.encode([plain]);
    assert.equal(text(encoded.metadata!.encoding), ENCRYPTED_ENCODING);
    assert.equal(text(encoded.metadata![KEY_ID_METADATA]), 'k1');
    assert.equal(Object.keys(encoded.metadata!).length, 2, 'the original encoding is hidden too');
    assert.ok(!text(encoded.data).includes('4111'), 'ciphertext does not contain the plaintext');
    assert.ok(!text(encoded.data).includes('json/plain'));
    const [decoded] = await codec.decode([encoded]);
    assert.deepEqual(payloadConverter.fromPayload(decoded), {
      card: '4111-1111-1111-1111',
      bytes: new Uint8Array([1, 2, 3]),
    });
  });

  it('uses a fresh IV: the same value never encrypts to the same bytes', async () => {
    const codec = new AesGcmCodec(new Map([['k1', k1]]), 'k1');
    const plain = payloadConverter.toPayload('same')!;
    const [a, b] = await codec.encode([plain, plain]);
    assert.notDeepEqual(Buffer.from(a.data!), Buffer.from(b.data!));
  });

  it('rotation: old payloads decode with their key, new ones use the active key', async () => {
    const before = new AesGcmCodec(new Map([['k1', k1]]), 'k1');
    const after = new AesGcmCodec(
      new Map([
        ['k1', k1],
        ['k2', k2],
      ]),
      'k2',
    );
    const [old] = await before.encode([payloadConverter.toPayload('old value')!]);
    const [fresh] = await after.encode([payloadConverter.toPayload('new value')!]);
    assert.equal(text(fresh.metadata![KEY_ID_METADATA]), 'k2');
    const [a, b] = await after.decode([old, fresh]);
    assert.equal(payloadConverter.fromPayload(a), 'old value');
    assert.equal(payloadConverter.fromPayload(b), 'new value');
    // A codec that dropped k1 can no longer read the old payload, and says which key it lacks.
    const onlyK2 = new AesGcmCodec(new Map([['k2', k2]]), 'k2');
    await assert.rejects(onlyK2.decode([old]), /key "k1", which this codec does not have/);
  });

  it('refuses tampered ciphertext, a relabelled key id and a wrong key', async () => {
    const codec = new AesGcmCodec(
      new Map([
        ['k1', k1],
        ['k2', k2],
      ]),
      'k1',
    );
    const [encoded] = await codec.encode([payloadConverter.toPayload('x')!]);
    const flipped = Buffer.from(encoded.data!);
    flipped[14] ^= 1;
    await assert.rejects(codec.decode([{ ...encoded, data: flipped }]), /failed authentication/);
    const relabelled = { ...encoded, metadata: { ...encoded.metadata, [KEY_ID_METADATA]: Buffer.from('k2') } };
    await assert.rejects(codec.decode([relabelled]), /failed authentication/);
    const wrongKey = new AesGcmCodec(new Map([['k1', k2]]), 'k1');
    await assert.rejects(wrongKey.decode([encoded]), /failed authentication/);
    await assert.rejects(codec.decode([{ ...encoded, data: new Uint8Array(5) }]), /too short/);
  });

  it('passes unencrypted payloads through (histories from before encryption stay readable)', async () => {
    const codec = new AesGcmCodec(new Map([['k1', k1]]), 'k1');
    const plain = payloadConverter.toPayload({ a: 1 })!;
    const [decoded] = await codec.decode([plain]);
    assert.deepEqual(decoded, plain);
  });

  it('refuses keys of the wrong size', () => {
    assert.throws(() => new AesGcmCodec(new Map([['k1', randomBytes(16)]]), 'k1'), /not 32 bytes/);
    assert.throws(() => new AesGcmCodec(new Map([['k1', k1]]), 'k9'), /no codec key with id k9/);
  });
});

describe('codec keys from the config', () => {
  it('reads raw, hex and base64 keys from files and the environment', () => {
    const dir = tempDir();
    const raw = join(dir, 'raw.key');
    writeFileSync(raw, k1);
    const hex = join(dir, 'hex.key');
    writeFileSync(hex, k2.toString('hex') + '\n');
    const b64 = keyFile(dir, 'b64');
    const codec = codecSchema.parse({
      enabled: true,
      active_key_id: 'b',
      keys: [
        { id: 'raw', file: raw },
        { id: 'hex', file: hex },
        { id: 'b', file: b64.file },
        { id: 'env', env: 'PRISM_TEST_CODEC_KEY' },
      ],
    });
    const keys = loadCodecKeys(codec, { PRISM_TEST_CODEC_KEY: k2.toString('base64') });
    assert.deepEqual(keys.get('raw'), k1);
    assert.deepEqual(keys.get('hex'), k2);
    assert.deepEqual(keys.get('b'), b64.key);
    assert.deepEqual(keys.get('env'), k2);
    assert.equal(payloadCodecsFromConfig(codec, { PRISM_TEST_CODEC_KEY: k2.toString('base64') }).length, 1);
  });

  it('names the key and its source on problems, never the material', () => {
    const dir = tempDir();
    const short = join(dir, 'short.key');
    writeFileSync(short, 'not-a-key-but-a-password-like-thing');
    const codec = codecSchema.parse({
      enabled: true,
      active_key_id: 'a',
      keys: [
        { id: 'a', file: short },
        { id: 'b', file: join(dir, 'missing.key') },
        { id: 'c', env: 'PRISM_TEST_UNSET_KEY' },
      ],
    });
    assert.throws(
      () => loadCodecKeys(codec, {}),
      (err: Error) => {
        assert.ok(err instanceof SecretError);
        assert.match(err.message, /codec\.keys\[0\]: key file .*short\.key does not hold a 32-byte key/);
        assert.match(err.message, /codec\.keys\[1\]: cannot read key file .*missing\.key: ENOENT/);
        assert.match(err.message, /codec\.keys\[2\]: environment variable PRISM_TEST_UNSET_KEY is not set/);
        assert.doesNotMatch(err.message, /password-like/);
        return true;
      },
    );
    assert.equal(parseKeyMaterial(Buffer.from('abc')), undefined);
  });

  it('is off by default; when on it needs keys and an active key among them', () => {
    assert.deepEqual(payloadCodecsFromConfig(codecSchema.parse({})), []);
    const problems = (input: unknown): string[] =>
      codecSchema.safeParse(input).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    assert.deepEqual(problems({ enabled: true }), [
      'keys: encryption needs at least one key',
      'active_key_id: encryption needs the id of the key to encrypt with',
    ]);
    assert.deepEqual(problems({ enabled: true, keys: [{ id: 'a', env: 'X' }], active_key_id: 'b' }), [
      'active_key_id: no key with id "b" under codec.keys',
    ]);
    assert.deepEqual(
      problems({
        keys: [
          { id: 'a', env: 'X' },
          { id: 'a', env: 'Y' },
        ],
      }),
      ['keys.1.id: duplicate key id "a"'],
    );
  });
});

describe('shipped configs', () => {
  it('the demo leaves encryption and TLS off; the production example turns both on', () => {
    const demo = loadConfig(join(CONFIG_DIR, 'demo.yaml'));
    assert.equal(demo.codec.enabled, false);
    assert.equal(demo.temporal.tls, undefined);
    const production = loadConfig(join(CONFIG_DIR, 'production.example.yaml'));
    assert.equal(production.codec.enabled, true);
    assert.ok(production.codec.keys.some((k) => k.id === production.codec.active_key_id));
    assert.ok(
      production.temporal.tls?.ca_file && production.temporal.tls.cert_file && production.temporal.tls.key_file,
    );
    assert.deepEqual(production.codec.server.token, { env: 'PRISM_CODEC_SERVER_TOKEN' });
  });
});
