// keyvalue_hash: a map under one key. getFields answers in request order (null for what is
// missing), setFields writes fields without touching the others, sets the whole key's TTL only
// when asked, validates everything before writing, and the key is a key like any other: delete
// removes the map, exists and scan see it once, and a key holding a value is not read as a map.
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
  withCapability,
} from './support';

forEachDriverWith('keyvalue_hash', (driver) => {
  const basic = () => withCapability(driver(), 'keyvalue_basic');

  it('handles empty calls: no fields read, and no map created by an empty write', async () => {
    const key = uniqueName('kvh-empty');
    assert.deepEqual(await driver().getFields(key, []), []);
    await driver().setFields(key, []);
    assert.equal(await basic().exists(key), false);
  });

  it('getFields answers in request order, null for missing fields and for a missing map', async () => {
    const key = uniqueName('kvh-get');
    try {
      assert.deepEqual(await driver().getFields(key, ['a', 'b']), [null, null], 'a missing map');
      await driver().setFields(key, [
        { field: 'a', value: bytes('A') },
        { field: 'empty', value: new Uint8Array(0) },
        { field: 'all', value: everyByte() },
        { field: 'ünï/cödé', value: bytes('u') },
      ]);
      const got = await driver().getFields(key, ['all', 'missing', 'a', 'empty', 'a', 'ünï/cödé']);
      assert.equal(got.length, 6);
      assertBytes(got[0], everyByte());
      assert.equal(got[1], null);
      assert.equal(text(got[2]), 'A');
      assertBytes(got[3], new Uint8Array(0), 'an empty value is not null');
      assert.equal(text(got[4]), 'A');
      assert.equal(text(got[5]), 'u');
      assert.equal(await basic().exists(key), true);
    } finally {
      await basic().delete(key);
    }
  });

  it('setFields keeps the other fields, overwrites the named ones, and a repeated field keeps the last value', async () => {
    const key = uniqueName('kvh-set');
    const fields = Array.from({ length: 300 }, (_, i) => `f${i}`);
    try {
      await driver().setFields(
        key,
        fields.map((field, i) => ({ field, value: bytes(`v${i}`) })),
      );
      await driver().setFields(key, [
        { field: 'f0', value: bytes('first') },
        { field: 'f1', value: patterned(64 * 1024, 3) },
        { field: 'f0', value: bytes('last') },
      ]);
      const got = await driver().getFields(key, fields);
      assert.equal(text(got[0]), 'last');
      assertBytes(got[1], patterned(64 * 1024, 3));
      for (let i = 2; i < fields.length; i += 1) assert.equal(text(got[i]), `v${i}`, `field ${i}`);
    } finally {
      await basic().delete(key);
    }
  });

  it(`takes ${MAX_BATCH_KEYS.toLocaleString('en-US')} fields in one call each way`, async () => {
    const key = uniqueName('kvh-many');
    const fields = Array.from({ length: MAX_BATCH_KEYS }, (_, i) => `identity-${i}`);
    try {
      await driver().setFields(
        key,
        fields.map((field, i) => ({ field, value: bytes(`m${i % 7}`) })),
      );
      const got = await driver().getFields(key, fields);
      assert.equal(got.length, fields.length);
      assert.ok(
        got.every((value, i) => text(value) === `m${i % 7}`),
        'every field as written',
      );
    } finally {
      await basic().delete(key);
    }
  });

  it('delete removes the whole map', async () => {
    const key = uniqueName('kvh-delete');
    await driver().setFields(key, [
      { field: 'a', value: bytes('A') },
      { field: 'b', value: bytes('B') },
    ]);
    assert.equal(await basic().delete(key), true);
    assert.equal(await basic().exists(key), false);
    assert.deepEqual(await driver().getFields(key, ['a', 'b']), [null, null]);
    assert.equal(await basic().delete(key), false, 'a second delete finds nothing');
  });

  it('setFields with ttlSeconds (drivers with keyvalue_ttl): the whole map expires; a write without keeps the expiry', async () => {
    const ttl = ifCapability(driver(), 'keyvalue_ttl');
    if (!ttl) return;
    const key = uniqueName('kvh-ttl');
    const lasting = uniqueName('kvh-lasting');
    try {
      await driver().setFields(lasting, [{ field: 'a', value: bytes('A') }]);
      assert.equal(await ttl.ttl(lasting), -1, 'a map written without a TTL has none');

      await driver().setFields(key, [{ field: 'a', value: bytes('A') }], { ttlSeconds: 600 });
      const left = await ttl.ttl(key);
      assert.ok(left !== null && left > 590 && left <= 600, `ttl ${left}`);
      await driver().setFields(key, [{ field: 'b', value: bytes('B') }]);
      const kept = await ttl.ttl(key);
      assert.ok(kept !== null && kept > 590 && kept <= 600, `a write without ttlSeconds keeps the expiry (${kept})`);

      await driver().setFields(key, [{ field: 'c', value: bytes('C') }], { ttlSeconds: 1 });
      const short = await ttl.ttl(key);
      assert.ok(short !== null && short > 0 && short <= 1, `a new ttlSeconds replaces the expiry (${short})`);
      await eventually(async () => !(await basic().exists(key)), 'the map expired');
      assert.deepEqual(await driver().getFields(key, ['a', 'b', 'c']), [null, null, null]);
      assert.equal(text((await driver().getFields(lasting, ['a']))[0]), 'A', 'a map without a TTL stays');
    } finally {
      await basic().delete(key);
      await basic().delete(lasting);
    }
  });

  it('scan (drivers with keyvalue_scan) lists a map once, whatever its number of fields', async () => {
    const scan = ifCapability(driver(), 'keyvalue_scan');
    if (!scan) return;
    const prefix = `${uniqueName('kvh-scan')}/`;
    const key = `${prefix}map`;
    try {
      await driver().setFields(
        key,
        Array.from({ length: 500 }, (_, i) => ({ field: `${prefix}f${i}`, value: bytes('x') })),
      );
      const keys: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await scan.scan(prefix, { cursor, limit: 100 });
        keys.push(...page.keys);
        cursor = page.cursor;
      } while (cursor !== null);
      assert.deepEqual([...new Set(keys)], [key]);
    } finally {
      await basic().delete(key);
    }
  });

  it('a key holding a value is not a map: getFields and setFields fail with InvalidArgument and change nothing', async () => {
    const key = uniqueName('kvh-kind');
    const ttl = ifCapability(driver(), 'keyvalue_ttl');
    try {
      await basic().set(key, bytes('plain'));
      await assertDriverError(() => driver().getFields(key, ['a']), 'InvalidArgument', 'getFields of a value');
      await assertDriverError(
        () => driver().setFields(key, [{ field: 'a', value: bytes('A') }], { ttlSeconds: 1 }),
        'InvalidArgument',
        'setFields on a value',
      );
      assert.equal(text(await basic().get(key)), 'plain');
      if (ttl) assert.equal(await ttl.ttl(key), -1, 'the refused write set no TTL');
    } finally {
      await basic().delete(key);
    }
  });

  it('refuses bad input before writing anything, naming what is wrong', async () => {
    const key = uniqueName('kvh-bad');
    const good = { field: 'good', value: bytes('v') };
    const cases: [string, unknown, 'InvalidArgument' | 'KeyTooLong' | 'ValueTooLarge'][] = [
      ['an empty field', { field: '', value: bytes('v') }, 'InvalidArgument'],
      ['a field too long', { field: 'f'.repeat(DEFAULT_LIMITS.maxKeyBytes + 1), value: bytes('v') }, 'KeyTooLong'],
      ['a value not bytes', { field: 'f', value: 'text' }, 'InvalidArgument'],
      ['a value too large', { field: 'f', value: new Uint8Array(DEFAULT_LIMITS.maxValueBytes + 1) }, 'ValueTooLarge'],
      ['an entry not an object', null, 'InvalidArgument'],
    ];
    for (const [what, entry, code] of cases) {
      await assertDriverError(
        () => driver().setFields(key, [good, entry as typeof good]),
        code,
        `setFields with ${what}`,
      );
    }
    await assertDriverError(() => driver().setFields('', [good]), 'InvalidArgument', 'setFields with an empty key');
    await assertDriverError(
      () => driver().setFields(key, [good], { ttlSeconds: -1 }),
      'InvalidArgument',
      'setFields with a negative ttlSeconds',
    );
    await assertDriverError(
      () =>
        driver().setFields(
          key,
          Array.from({ length: MAX_BATCH_KEYS + 1 }, (_, i) => ({ field: `f${i}`, value: bytes('v') })),
        ),
      'InvalidArgument',
      'setFields over the limit',
    );
    assert.equal(await basic().exists(key), false, 'nothing was written');
    await assertDriverError(
      () => driver().getFields(key, ['a', '']),
      'InvalidArgument',
      'getFields with an empty field',
    );
    await assertDriverError(
      () => driver().getFields(key, 'a' as unknown as string[]),
      'InvalidArgument',
      'getFields with fields not a list',
    );
    await assertDriverError(
      () =>
        driver().getFields(
          key,
          Array.from({ length: MAX_BATCH_KEYS + 1 }, (_, i) => `f${i}`),
        ),
      'InvalidArgument',
      'getFields over the limit',
    );
  });
});
