// keyvalue_batch: getMany/setMany/deleteMany keep request order, agree with the single-key
// operations, and validate the whole batch before writing any of it.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { MAX_BATCH_KEYS } from '../../src/drivers/limits';
import { uniqueName } from '../helpers/env';
import { forEachDriverWith } from './harness';
import {
  DEFAULT_LIMITS,
  assertBytes,
  assertDriverError,
  bytes,
  eventually,
  everyByte,
  ifCapability,
  patterned,
  text,
} from './support';

forEachDriverWith('keyvalue_batch', (driver) => {
  it('handles empty batches', async () => {
    assert.deepEqual(await driver().getMany([]), []);
    await driver().setMany([]);
    assert.equal(await driver().deleteMany([]), 0);
  });

  it('getMany answers in request order, null for missing keys, repeated keys repeated', async () => {
    const base = uniqueName('kvm-get');
    const [a, b, c, missing] = ['a', 'b', 'c', 'missing'].map((s) => `${base}/${s}`);
    try {
      await driver().setMany([
        { key: a, value: bytes('A') },
        { key: b, value: new Uint8Array(0) },
        { key: c, value: everyByte() },
      ]);
      const got = await driver().getMany([c, missing, a, b, a]);
      assert.equal(got.length, 5);
      assertBytes(got[0], everyByte());
      assert.equal(got[1], null);
      assert.equal(text(got[2]), 'A');
      assertBytes(got[3], new Uint8Array(0), 'an empty value is not null');
      assert.equal(text(got[4]), 'A');
    } finally {
      await driver().deleteMany([a, b, c]);
    }
  });

  it('setMany writes every entry, overwrites existing ones, and a repeated key keeps the last value', async () => {
    const base = uniqueName('kvm-set');
    const keys = Array.from({ length: 300 }, (_, i) => `${base}/${i}`);
    try {
      await driver().setMany(keys.map((key, i) => ({ key, value: bytes(`v${i}`) })));
      await driver().setMany([
        { key: keys[0], value: bytes('first') },
        { key: keys[1], value: patterned(64 * 1024, 5) },
        { key: keys[0], value: bytes('last') },
      ]);
      const got = await driver().getMany(keys);
      assert.equal(text(got[0]), 'last');
      assertBytes(got[1], patterned(64 * 1024, 5));
      for (let i = 2; i < keys.length; i += 1) assert.equal(text(got[i]), `v${i}`, `key ${i}`);
    } finally {
      await driver().deleteMany(keys);
    }
  });

  it('setMany with ttlSeconds (drivers with keyvalue_ttl): every entry gets the TTL and expires; without, none', async () => {
    const ttl = ifCapability(driver(), 'keyvalue_ttl');
    if (!ttl) return;
    const base = uniqueName('kvm-ttl');
    const keys = Array.from({ length: 50 }, (_, i) => `${base}/${i}`);
    const kept = `${base}/kept`;
    try {
      await ttl.setWithTtl(kept, bytes('leased'), 600);
      await driver().setMany(
        keys.map((key) => ({ key, value: bytes('short-lived') })),
        { ttlSeconds: 1 },
      );
      for (const key of [keys[0], keys[49]]) {
        const left = await ttl.ttl(key);
        // A very slow machine may already have expired it; otherwise 0 < ttl <= 1.
        assert.ok(left === null || (left > 0 && left <= 1.01), `ttl ${left} of ${key} must be in (0, 1]`);
      }
      await eventually(
        async () => (await driver().getMany(keys)).every((v) => v === null),
        'every entry with a 1 s TTL expires',
      );
      // Without ttlSeconds, a batch write clears an earlier expiry, as set does.
      await driver().setMany([{ key: kept, value: bytes('kept') }]);
      assert.equal(await ttl.ttl(kept), -1);
    } finally {
      await driver().deleteMany([...keys, kept]);
    }
  });

  it('setMany refuses a bad ttlSeconds before writing anything', async () => {
    if (!ifCapability(driver(), 'keyvalue_ttl')) return;
    const key = uniqueName('kvm-badttl');
    await assertDriverError(
      () => driver().setMany([{ key, value: bytes('x') }], { ttlSeconds: -1 }),
      'InvalidArgument',
    );
    assert.deepEqual(await driver().getMany([key]), [null]);
  });

  it('deleteMany counts the keys that existed, once each, and removes them', async () => {
    const base = uniqueName('kvm-del');
    const keys = Array.from({ length: 10 }, (_, i) => `${base}/${i}`);
    try {
      await driver().setMany(keys.slice(0, 6).map((key) => ({ key, value: bytes('v') })));
      assert.equal(await driver().deleteMany([keys[0], keys[0], keys[1], keys[7], keys[8]]), 2);
      assert.equal(await driver().deleteMany(keys), 4);
      assert.deepEqual(await driver().getMany(keys), Array(10).fill(null));
      assert.equal(await driver().deleteMany(keys), 0);
    } finally {
      await driver().deleteMany(keys);
    }
  });

  it('agrees with the single-key operations (when the driver has keyvalue_basic)', async () => {
    const basic = ifCapability(driver(), 'keyvalue_basic');
    if (!basic) return;
    const base = uniqueName('kvm-mixed');
    const [a, b] = [`${base}/a`, `${base}/b`];
    try {
      await basic.set(a, bytes('single'));
      await driver().setMany([{ key: b, value: bytes('batch') }]);
      assert.deepEqual(
        (await driver().getMany([a, b])).map((v) => text(v)),
        ['single', 'batch'],
      );
      assert.equal(text(await basic.get(b)), 'batch');
      assert.equal(await driver().deleteMany([a]), 1);
      assert.equal(await basic.exists(a), false);
      assert.equal(await basic.delete(b), true);
    } finally {
      await driver().deleteMany([a, b]);
    }
  });

  it('validates the whole batch before writing: one bad entry and nothing is written', async () => {
    const base = uniqueName('kvm-atomic-check');
    const [a, b] = [`${base}/a`, `${base}/b`];
    try {
      await driver().setMany([{ key: a, value: bytes('original') }]);
      const cases: [string, { key: string; value: Uint8Array }, 'ValueTooLarge' | 'KeyTooLong' | 'InvalidArgument'][] =
        [
          ['too large', { key: b, value: new Uint8Array(DEFAULT_LIMITS.maxValueBytes + 1) }, 'ValueTooLarge'],
          ['too long', { key: `${base}/${'k'.repeat(DEFAULT_LIMITS.maxKeyBytes)}`, value: bytes('v') }, 'KeyTooLong'],
          ['empty key', { key: '', value: bytes('v') }, 'InvalidArgument'],
          ['not bytes', { key: b, value: 'text' as unknown as Uint8Array }, 'InvalidArgument'],
        ];
      for (const [what, bad, code] of cases) {
        await assertDriverError(
          () => driver().setMany([{ key: a, value: bytes('changed') }, { key: b, value: bytes('new') }, bad]),
          code,
          what,
        );
        assert.deepEqual(
          (await driver().getMany([a, b])).map((v) => text(v)),
          ['original', null],
          `${what}: nothing written`,
        );
      }
    } finally {
      await driver().deleteMany([a, b]);
    }
  });

  it('rejects bad keys in getMany and deleteMany without deleting anything', async () => {
    const key = uniqueName('kvm-badkeys');
    try {
      await driver().setMany([{ key, value: bytes('v') }]);
      await assertDriverError(() => driver().getMany([key, '']), 'InvalidArgument', 'getMany with an empty key');
      await assertDriverError(
        () => driver().getMany([key, 'k'.repeat(DEFAULT_LIMITS.maxKeyBytes + 1)]),
        'KeyTooLong',
        'getMany with a long key',
      );
      await assertDriverError(
        () => driver().deleteMany([key, 7 as unknown as string]),
        'InvalidArgument',
        'deleteMany with a non-string key',
      );
      assert.equal(text((await driver().getMany([key]))[0]), 'v', 'nothing deleted');
      await assertDriverError(
        () => driver().getMany('not-an-array' as unknown as string[]),
        'InvalidArgument',
        'getMany(string)',
      );
    } finally {
      await driver().deleteMany([key]);
    }
  });

  it(`refuses a batch over ${MAX_BATCH_KEYS} keys or entries as a whole, writing nothing`, async () => {
    const prefix = uniqueName('kvm-big');
    const keys = Array.from({ length: MAX_BATCH_KEYS + 1 }, (_, i) => `${prefix}-${i}`);
    try {
      await assertDriverError(() => driver().getMany(keys), 'InvalidArgument', 'getMany over the limit');
      await assertDriverError(
        () => driver().setMany(keys.map((key) => ({ key, value: bytes('v') }))),
        'InvalidArgument',
        'setMany over the limit',
      );
      await assertDriverError(() => driver().deleteMany(keys), 'InvalidArgument', 'deleteMany over the limit');
      assert.deepEqual(
        (await driver().getMany([keys[0]!, keys[MAX_BATCH_KEYS]!])).map(text),
        [null, null],
        'nothing written',
      );
      // Exactly at the limit is fine.
      assert.equal((await driver().getMany(keys.slice(0, MAX_BATCH_KEYS))).length, MAX_BATCH_KEYS);
    } finally {
      await driver().deleteMany([keys[0]!, keys[MAX_BATCH_KEYS]!]);
    }
  });
});
