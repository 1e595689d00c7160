// keyvalue_cas: versioned reads and compare-and-set. A write succeeds only against the version it
// read; every successful write (CAS or plain) yields a version never seen before for that key, so
// concurrent read-modify-write loops lose no update.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { CasResult, KeyValueCas } from '../../src/drivers/capabilities';
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
  text,
} from './support';

/** Just the contract's fields, so a driver may return more. */
const pick = (r: CasResult): CasResult => ({ ok: r.ok, version: r.version });

/** Adds one to the decimal counter at key with a CAS retry loop; returns the version it wrote. */
async function increment(cas: KeyValueCas, key: string): Promise<{ version: string; attempts: number }> {
  for (let attempts = 1; attempts <= 10_000; attempts += 1) {
    const current = await cas.getVersioned(key);
    const next = (current ? Number(text(current.value)) : 0) + 1;
    const result = await cas.compareAndSet(key, bytes(String(next)), current?.version ?? null);
    if (result.ok) {
      assert.ok(result.version !== null);
      return { version: result.version, attempts };
    }
  }
  throw new Error('increment: too many conflicts');
}

forEachDriverWith('keyvalue_cas', (driver) => {
  const cleanup = async (...keys: string[]): Promise<void> => {
    const basic = ifCapability(driver(), 'keyvalue_basic');
    const batch = ifCapability(driver(), 'keyvalue_batch');
    if (batch) await batch.deleteMany(keys);
    else if (basic) for (const key of keys) await basic.delete(key);
  };

  it('getVersioned is null for a missing key', async () => {
    assert.equal(await driver().getVersioned(uniqueName('kvc-missing')), null);
  });

  it('creates with expectedVersion null, then reads the value back with the version returned', async () => {
    const key = uniqueName('kvc-create');
    try {
      const created = await driver().compareAndSet(key, everyByte(), null);
      assert.equal(created.ok, true);
      assert.equal(typeof created.version, 'string');
      const read = await driver().getVersioned(key);
      assert.ok(read);
      assertBytes(read.value, everyByte());
      assert.equal(read.version, created.version);
      assert.equal((await driver().getVersioned(key))?.version, created.version, 'reading does not change it');
      const basic = ifCapability(driver(), 'keyvalue_basic');
      if (basic) assertBytes(await basic.get(key), everyByte(), 'get() sees a CAS write');
    } finally {
      await cleanup(key);
    }
  });

  it('expectedVersion null fails when the key exists, returning the current version', async () => {
    const key = uniqueName('kvc-exists');
    try {
      const created = await driver().compareAndSet(key, bytes('first'), null);
      const again = await driver().compareAndSet(key, bytes('second'), null);
      assert.deepEqual(pick(again), { ok: false, version: created.version });
      assert.equal(text((await driver().getVersioned(key))?.value), 'first');
    } finally {
      await cleanup(key);
    }
  });

  it('writes against the current version, yields a new one, and refuses the stale one', async () => {
    const key = uniqueName('kvc-update');
    try {
      const v1 = await driver().compareAndSet(key, bytes('one'), null);
      const v2 = await driver().compareAndSet(key, bytes('two'), v1.version);
      assert.equal(v2.ok, true);
      assert.notEqual(v2.version, v1.version);
      const stale = await driver().compareAndSet(key, bytes('three'), v1.version);
      assert.deepEqual(pick(stale), { ok: false, version: v2.version });
      const read = await driver().getVersioned(key);
      assert.equal(text(read?.value), 'two');
      assert.equal(read?.version, v2.version);
      const garbage = await driver().compareAndSet(key, bytes('x'), 'not-a-version-at-all');
      assert.deepEqual(pick(garbage), { ok: false, version: v2.version });
    } finally {
      await cleanup(key);
    }
  });

  it('a version for a missing key fails with version null', async () => {
    const key = uniqueName('kvc-absent');
    const elsewhere = await driver().compareAndSet(`${key}-other`, bytes('x'), null);
    try {
      const result = await driver().compareAndSet(key, bytes('v'), elsewhere.version);
      assert.deepEqual(pick(result), { ok: false, version: null });
      assert.equal(await driver().getVersioned(key), null, 'nothing written');
    } finally {
      await cleanup(key, `${key}-other`);
    }
  });

  it('never reuses a version: not after plain writes, nor after delete and re-create', async (t) => {
    const basic = ifCapability(driver(), 'keyvalue_basic');
    if (!basic) {
      t.diagnostic('driver has no keyvalue_basic: nothing to check');
      return;
    }
    const key = uniqueName('kvc-aba');
    try {
      const seen = new Set<string>();
      const first = await driver().compareAndSet(key, bytes('a'), null);
      assert.ok(first.version);
      seen.add(first.version);
      await basic.set(key, bytes('b'));
      const afterSet = await driver().getVersioned(key);
      assert.ok(afterSet);
      assert.equal(text(afterSet.value), 'b');
      assert.ok(!seen.has(afterSet.version), 'a plain set() changes the version');
      seen.add(afterSet.version);
      assert.equal((await driver().compareAndSet(key, bytes('c'), first.version)).ok, false, 'stale after set()');
      await basic.set(key, bytes('a')); // the same value as the first write: still a new version
      const sameValue = await driver().getVersioned(key);
      assert.ok(sameValue && !seen.has(sameValue.version), 'rewriting an old value still changes the version');
      seen.add(sameValue.version);
      assert.equal(await basic.delete(key), true);
      assert.equal(await driver().getVersioned(key), null);
      assert.deepEqual(pick(await driver().compareAndSet(key, bytes('d'), sameValue.version)), {
        ok: false,
        version: null,
      });
      const recreated = await driver().compareAndSet(key, bytes('a'), null);
      assert.equal(recreated.ok, true);
      assert.ok(recreated.version && !seen.has(recreated.version), 'a re-created key gets a new version');
      assert.equal((await driver().compareAndSet(key, bytes('e'), first.version)).ok, false, 'ABA is refused');
    } finally {
      await cleanup(key);
    }
  });

  it('20 concurrent read-modify-write loops lose no update', async () => {
    const key = uniqueName('kvc-counter');
    const writers = 20;
    try {
      const results = await Promise.all(Array.from({ length: writers }, () => increment(driver(), key)));
      const read = await driver().getVersioned(key);
      assert.equal(text(read?.value), String(writers));
      const versions = new Set(results.map((r) => r.version));
      assert.equal(versions.size, writers, 'each successful write has its own version');
      assert.ok(read && versions.has(read.version), 'the stored version is the last one written');
    } finally {
      await cleanup(key);
    }
  });

  it('of concurrent creates (expectedVersion null), exactly one wins', async () => {
    const key = uniqueName('kvc-race');
    try {
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => driver().compareAndSet(key, bytes(`writer ${i}`), null)),
      );
      const winners = results.filter((r) => r.ok);
      assert.equal(winners.length, 1);
      const read = await driver().getVersioned(key);
      assert.equal(read?.version, winners[0].version);
      assert.equal(text(read?.value), `writer ${results.indexOf(winners[0])}`);
      for (const loser of results.filter((r) => !r.ok)) assert.equal(loser.version, winners[0].version);
    } finally {
      await cleanup(key);
    }
  });

  it('compareAndSet with ttlSeconds writes an expiring value', async () => {
    const key = uniqueName('kvc-ttl');
    try {
      const created = await driver().compareAndSet(key, bytes('v'), null, 0.5);
      assert.equal(created.ok, true);
      const ttl = ifCapability(driver(), 'keyvalue_ttl');
      if (ttl) {
        const left = await ttl.ttl(key);
        assert.ok(left === null || (left > 0 && left <= 0.5 + 0.01), `ttl ${left} must be in (0, 0.5]`);
      }
      await eventually(async () => (await driver().getVersioned(key)) === null, 'CAS-written key expires');
      const recreated = await driver().compareAndSet(key, bytes('w'), null, 60);
      assert.equal(recreated.ok, true, 'an expired key counts as absent');
      assert.notEqual(recreated.version, created.version);
    } finally {
      await cleanup(key);
    }
  });

  it('validates input: limits, expectedVersion type and TTL, writing nothing', async () => {
    const key = uniqueName('kvc-invalid');
    await assertDriverError(
      () => driver().compareAndSet(key, new Uint8Array(DEFAULT_LIMITS.maxValueBytes + 1), null),
      'ValueTooLarge',
      'too large',
    );
    await assertDriverError(
      () => driver().compareAndSet('k'.repeat(DEFAULT_LIMITS.maxKeyBytes + 1), bytes('v'), null),
      'KeyTooLong',
      'too long',
    );
    await assertDriverError(() => driver().compareAndSet('', bytes('v'), null), 'InvalidArgument', 'empty key');
    await assertDriverError(
      () => driver().compareAndSet(key, 'text' as unknown as Uint8Array, null),
      'InvalidArgument',
      'not bytes',
    );
    await assertDriverError(
      () => driver().compareAndSet(key, bytes('v'), 1 as unknown as string),
      'InvalidArgument',
      'numeric version',
    );
    await assertDriverError(() => driver().compareAndSet(key, bytes('v'), null, 0), 'InvalidArgument', 'ttl 0');
    await assertDriverError(() => driver().getVersioned(''), 'InvalidArgument', 'getVersioned empty key');
    assert.equal(await driver().getVersioned(key), null, 'nothing written');
  });
});
