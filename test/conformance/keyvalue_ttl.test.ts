// keyvalue_ttl: expiry that really happens (fractional TTLs included), ttl/expire/persist
// semantics, and set() replacing the expiry. Timing assertions only ever wait for something to
// happen (with a generous deadline) or check that it has not happened too early; none asserts
// that the backend was fast.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { uniqueName } from '../helpers/env';
import { forEachDriverWith } from './harness';
import { assertDriverError, bytes, eventually, sleep, text, withCapability } from './support';

/** Slack for rounding a TTL to the backend's resolution (milliseconds). */
const ROUNDING = 0.01;

forEachDriverWith('keyvalue_ttl', (driver) => {
  const kv = () => withCapability(driver(), 'keyvalue_basic');

  it('setWithTtl stores the value, reports a TTL no longer than asked, and the key expires', async () => {
    const key = uniqueName('kvt-expires');
    try {
      await driver().setWithTtl(key, bytes('short-lived'), 1);
      const left = await driver().ttl(key);
      const value = await kv().get(key);
      // A very slow machine may already have expired it; otherwise it must be there with 0 < ttl <= 1.
      if (left !== null) {
        assert.ok(left > 0 && left <= 1 + ROUNDING, `ttl ${left} must be in (0, 1]`);
        assert.ok(value === null || text(value) === 'short-lived');
      }
      await eventually(async () => (await kv().get(key)) === null, 'key with a 1 s TTL expires');
      assert.equal(await kv().exists(key), false);
      assert.equal(await driver().ttl(key), null);
    } finally {
      await kv().delete(key);
    }
  });

  it('honours fractional TTLs without rounding them up to whole seconds', async () => {
    const key = uniqueName('kvt-fraction');
    try {
      await driver().setWithTtl(key, bytes('v'), 1.5);
      const left = await driver().ttl(key);
      assert.ok(left === null || (left > 0 && left <= 1.5 + ROUNDING), `ttl ${left} must be in (0, 1.5]`);
      await driver().setWithTtl(key, bytes('v'), 0.3);
      const shorter = await driver().ttl(key);
      assert.ok(shorter === null || (shorter > 0 && shorter <= 0.3 + ROUNDING), `ttl ${shorter} must be in (0, 0.3]`);
      await eventually(async () => !(await kv().exists(key)), 'key with a 0.3 s TTL expires');
    } finally {
      await kv().delete(key);
    }
  });

  it('ttl() is null for a missing key and -1 for a key without expiry', async () => {
    const key = uniqueName('kvt-ttl');
    try {
      assert.equal(await driver().ttl(key), null);
      await kv().set(key, bytes('forever'));
      assert.equal(await driver().ttl(key), -1);
      await driver().setWithTtl(key, bytes('later'), 60);
      const left = await driver().ttl(key);
      assert.ok(left !== null && left > 0 && left <= 60 + ROUNDING, `ttl ${left} must be in (0, 60]`);
    } finally {
      await kv().delete(key);
    }
  });

  it('set() replaces the value and removes the expiry; setWithTtl() over a plain key adds one', async () => {
    const key = uniqueName('kvt-set-clears');
    try {
      await driver().setWithTtl(key, bytes('with ttl'), 1);
      await kv().set(key, bytes('plain'));
      assert.equal(await driver().ttl(key), -1);
      await sleep(1_500);
      assert.equal(text(await kv().get(key)), 'plain', 'the old TTL no longer applies');
      await driver().setWithTtl(key, bytes('with ttl again'), 60);
      assert.equal(text(await kv().get(key)), 'with ttl again');
      const left = await driver().ttl(key);
      assert.ok(left !== null && left > 0 && left <= 60 + ROUNDING);
    } finally {
      await kv().delete(key);
    }
  });

  it('expire() is false for a missing key; on a key it sets the expiry, which then happens', async () => {
    const key = uniqueName('kvt-expire');
    try {
      assert.equal(await driver().expire(key, 10), false);
      assert.equal(await kv().exists(key), false, 'expire does not create the key');
      await kv().set(key, bytes('v'));
      assert.equal(await driver().expire(key, 60), true);
      const left = await driver().ttl(key);
      assert.ok(left !== null && left > 0 && left <= 60 + ROUNDING, `ttl ${left} must be in (0, 60]`);
      assert.equal(text(await kv().get(key)), 'v', 'expire keeps the value');
      assert.equal(await driver().expire(key, 0.5), true, 'expire replaces an expiry');
      await eventually(async () => (await kv().get(key)) === null, 'key expires after expire()');
      assert.equal(await driver().expire(key, 10), false, 'an expired key is missing');
    } finally {
      await kv().delete(key);
    }
  });

  it('expire() can extend a TTL: the key outlives its first expiry', async () => {
    const key = uniqueName('kvt-extend');
    try {
      await driver().setWithTtl(key, bytes('v'), 1);
      assert.equal(await driver().expire(key, 60), true);
      const left = await driver().ttl(key);
      assert.ok(left !== null && left > 1, `ttl ${left} must exceed the old 1 s`);
      await sleep(1_500);
      assert.equal(text(await kv().get(key)), 'v');
    } finally {
      await kv().delete(key);
    }
  });

  it('persist() removes an expiry (true), and is false for a missing key or one without expiry', async () => {
    const key = uniqueName('kvt-persist');
    try {
      assert.equal(await driver().persist(key), false, 'missing key');
      await kv().set(key, bytes('v'));
      assert.equal(await driver().persist(key), false, 'no expiry to remove');
      await driver().setWithTtl(key, bytes('v'), 1);
      assert.equal(await driver().persist(key), true);
      assert.equal(await driver().ttl(key), -1);
      assert.equal(await driver().persist(key), false, 'already persistent');
      await sleep(1_500);
      assert.equal(text(await kv().get(key)), 'v', 'the key outlives its old expiry');
    } finally {
      await kv().delete(key);
    }
  });

  it('an expired key is missing for every operation', async () => {
    const key = uniqueName('kvt-gone');
    await driver().setWithTtl(key, bytes('v'), 0.2);
    await eventually(async () => !(await kv().exists(key)), 'key expires');
    assert.equal(await kv().get(key), null);
    assert.equal(await driver().ttl(key), null);
    assert.equal(await driver().persist(key), false);
    assert.equal(await driver().expire(key, 10), false);
    assert.equal(await kv().delete(key), false);
  });

  it('rejects a TTL that is not a positive finite number with InvalidArgument and writes nothing', async () => {
    const key = uniqueName('kvt-badttl');
    try {
      for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '10', null]) {
        const t = ttl as number;
        await assertDriverError(() => driver().setWithTtl(key, bytes('v'), t), 'InvalidArgument', `setWithTtl ${ttl}`);
      }
      assert.equal(await kv().exists(key), false, 'nothing written');
      await kv().set(key, bytes('v'));
      for (const ttl of [0, -5, Number.NaN]) {
        await assertDriverError(() => driver().expire(key, ttl), 'InvalidArgument', `expire ${ttl}`);
      }
      assert.equal(await driver().ttl(key), -1, 'the key keeps no expiry');
    } finally {
      await kv().delete(key);
    }
  });

  it('setWithTtl() enforces key and value limits like set()', async () => {
    const key = uniqueName('kvt-limits');
    await assertDriverError(() => driver().setWithTtl('', bytes('v'), 10), 'InvalidArgument', 'empty key');
    await assertDriverError(
      () => driver().setWithTtl(key, 'text' as unknown as Uint8Array, 10),
      'InvalidArgument',
      'non-bytes value',
    );
    assert.equal(await kv().exists(key), false);
  });
});
