// keyvalue_basic: get/set/delete/exists, byte-exact values, key independence and input limits.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { uniqueName } from '../helpers/env';
import { forEachDriverWith } from './harness';
import { DEFAULT_LIMITS, assertBytes, assertDriverError, bytes, everyByte, patterned, text } from './support';

forEachDriverWith('keyvalue_basic', (driver) => {
  it('reports a missing key as absent: get null, exists false, delete false', async () => {
    const key = uniqueName('kvb-missing');
    assert.equal(await driver().get(key), null);
    assert.equal(await driver().exists(key), false);
    assert.equal(await driver().delete(key), false);
  });

  it('round-trips text, empty, every byte value and 512 KiB values byte for byte', async () => {
    const base = uniqueName('kvb-roundtrip');
    const cases: [string, Uint8Array][] = [
      ['text', bytes('hello, wörld ✓')],
      ['empty', new Uint8Array(0)],
      ['all-bytes', everyByte()],
      ['nul-first', Uint8Array.from([0, 0, 1, 0])],
      ['large', patterned(512 * 1024, 7)],
    ];
    try {
      for (const [name, value] of cases) {
        await driver().set(`${base}/${name}`, value);
        assertBytes(await driver().get(`${base}/${name}`), value, `${name} value`);
        assert.equal(await driver().exists(`${base}/${name}`), true, `${name} exists`);
      }
    } finally {
      for (const [name] of cases) await driver().delete(`${base}/${name}`);
    }
  });

  it('overwrites a value, including with a shorter and an empty one', async () => {
    const key = uniqueName('kvb-overwrite');
    try {
      await driver().set(key, patterned(4096, 3));
      await driver().set(key, bytes('short'));
      assert.equal(text(await driver().get(key)), 'short');
      await driver().set(key, new Uint8Array(0));
      assertBytes(await driver().get(key), new Uint8Array(0));
      assert.equal(await driver().exists(key), true);
    } finally {
      await driver().delete(key);
    }
  });

  it('deletes: true for an existing key, then the key is gone and a second delete is false', async () => {
    const key = uniqueName('kvb-delete');
    await driver().set(key, bytes('v'));
    assert.equal(await driver().delete(key), true);
    assert.equal(await driver().get(key), null);
    assert.equal(await driver().exists(key), false);
    assert.equal(await driver().delete(key), false);
    await driver().set(key, bytes('again'));
    assert.equal(text(await driver().get(key)), 'again');
    assert.equal(await driver().delete(key), true);
  });

  it('keeps similar keys and keys with special characters apart', async () => {
    const base = uniqueName('kvb-keys');
    const suffixes = [
      'a',
      'A',
      'a ',
      ' a',
      'a/b',
      'a\\b',
      'a.b',
      'a>b',
      'a*',
      'a?',
      '[a]',
      'a%',
      'a_',
      "a'b",
      'a"b',
      'a:b',
      'a\nb',
      'a\tb',
      'ümlaut',
      '日本語',
      '🎉',
    ];
    const keys = suffixes.map((s) => `${base}/${s}`);
    try {
      for (const [i, key] of keys.entries()) await driver().set(key, bytes(`value ${i}`));
      for (const [i, key] of keys.entries()) {
        assert.equal(text(await driver().get(key)), `value ${i}`, `key ${JSON.stringify(key)}`);
      }
      assert.equal(await driver().get(`${base}/`), null);
      assert.equal(await driver().get(`${base}/a  `), null);
      assert.equal(await driver().delete(keys[0]), true);
      assert.equal(text(await driver().get(keys[1])), 'value 1', 'deleting "a" leaves "A"');
      assert.equal(text(await driver().get(keys[2])), 'value 2', 'deleting "a" leaves "a "');
    } finally {
      for (const key of keys) await driver().delete(key);
    }
  });

  it('accepts a key exactly at the limit, counted in UTF-8 bytes', async () => {
    const base = `${uniqueName('kvb-maxkey')}/`;
    const key = base + 'k'.repeat(DEFAULT_LIMITS.maxKeyBytes - Buffer.byteLength(base));
    assert.equal(Buffer.byteLength(key), DEFAULT_LIMITS.maxKeyBytes);
    try {
      await driver().set(key, bytes('at the limit'));
      assert.equal(text(await driver().get(key)), 'at the limit');
    } finally {
      await driver().delete(key);
    }
  });

  it('stores a copy: changing buffers after set or after get does not change the stored value', async () => {
    const key = uniqueName('kvb-copy');
    try {
      const value = bytes('original');
      await driver().set(key, value);
      value.fill(0x21);
      const first = await driver().get(key);
      assert.equal(text(first), 'original');
      first?.fill(0x22);
      assert.equal(text(await driver().get(key)), 'original');
    } finally {
      await driver().delete(key);
    }
  });

  it('accepts any Uint8Array: a Buffer, and a view into part of a larger buffer', async () => {
    const key = uniqueName('kvb-views');
    try {
      await driver().set(key, Buffer.from('from a buffer'));
      assert.equal(text(await driver().get(key)), 'from a buffer');
      const backing = bytes('xxxINSIDEyyy');
      const view = new Uint8Array(backing.buffer, backing.byteOffset + 3, 6);
      await driver().set(key, view);
      assertBytes(await driver().get(key), bytes('INSIDE'));
    } finally {
      await driver().delete(key);
    }
  });

  it('rejects an empty key, a non-string key and a lone surrogate with InvalidArgument', async () => {
    const bad: unknown[] = ['', 42, null, undefined, { key: 'k' }, `${uniqueName('kvb-surrogate')}\ud800`];
    for (const key of bad) {
      const k = key as string;
      const label = JSON.stringify(key) ?? String(key);
      await assertDriverError(() => driver().set(k, bytes('v')), 'InvalidArgument', `set(${label})`);
      await assertDriverError(() => driver().get(k), 'InvalidArgument', `get(${label})`);
      await assertDriverError(() => driver().exists(k), 'InvalidArgument', `exists(${label})`);
      await assertDriverError(() => driver().delete(k), 'InvalidArgument', `delete(${label})`);
    }
  });

  it('rejects a key over the limit with KeyTooLong, counting UTF-8 bytes, and writes nothing', async () => {
    const base = `${uniqueName('kvb-longkey')}/`;
    const ascii = base + 'k'.repeat(DEFAULT_LIMITS.maxKeyBytes + 1 - base.length);
    // Fewer characters than the limit, more bytes: '€' is 3 bytes in UTF-8.
    const wide = base + '€'.repeat(Math.ceil((DEFAULT_LIMITS.maxKeyBytes + 1 - base.length) / 3));
    assert.ok(wide.length < DEFAULT_LIMITS.maxKeyBytes);
    for (const key of [ascii, wide]) {
      await assertDriverError(() => driver().set(key, bytes('v')), 'KeyTooLong', 'set');
      await assertDriverError(() => driver().get(key), 'KeyTooLong', 'get');
      await assertDriverError(() => driver().exists(key), 'KeyTooLong', 'exists');
      await assertDriverError(() => driver().delete(key), 'KeyTooLong', 'delete');
    }
  });

  it('rejects a value over the limit with ValueTooLarge and leaves the old value', async () => {
    const key = uniqueName('kvb-bigvalue');
    try {
      await assertDriverError(
        () => driver().set(key, new Uint8Array(DEFAULT_LIMITS.maxValueBytes + 1)),
        'ValueTooLarge',
        'set',
      );
      assert.equal(await driver().exists(key), false, 'nothing written');
      await driver().set(key, bytes('original'));
      await assertDriverError(
        () => driver().set(key, new Uint8Array(DEFAULT_LIMITS.maxValueBytes + 1)),
        'ValueTooLarge',
        'set over an existing key',
      );
      assert.equal(text(await driver().get(key)), 'original');
    } finally {
      await driver().delete(key);
    }
  });

  it('rejects values that are not bytes with InvalidArgument and writes nothing', async () => {
    const key = uniqueName('kvb-notbytes');
    const bad: unknown[] = ['text', 42, null, undefined, [1, 2, 3], new ArrayBuffer(4), { 0: 1, length: 1 }];
    for (const value of bad) {
      await assertDriverError(
        () => driver().set(key, value as Uint8Array),
        'InvalidArgument',
        `set(${Object.prototype.toString.call(value)})`,
      );
    }
    assert.equal(await driver().exists(key), false, 'nothing written');
  });
});
