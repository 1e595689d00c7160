// Consistent hashing on 10,000 session ids: an even spread, and adding a shard moves about 1/N.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { hash32, HashRing } from '../../../src/workflows/session-store/consistent-hash';

const ids = Array.from({ length: 10_000 }, () => randomUUID());

function counts(ring: HashRing): Map<string, number> {
  const out = new Map<string, number>(ring.shards.map((s) => [s, 0]));
  for (const id of ids) out.set(ring.shardFor(id), out.get(ring.shardFor(id))! + 1);
  return out;
}

describe('session store: consistent hashing', () => {
  it('spreads 10,000 sessions evenly over 4 shards (each within ±30% of a quarter)', () => {
    const ring = new HashRing(['s0', 's1', 's2', 's3']);
    const c = counts(ring);
    process.stdout.write(`# distribution over 4 shards: ${JSON.stringify(Object.fromEntries(c))}\n`);
    for (const [shard, n] of c) {
      assert.ok(n > 2500 * 0.7 && n < 2500 * 1.3, `${shard} holds ${n} of 10,000`);
    }
  });

  it('adding a fifth shard moves about 1/5 of the sessions, all of them to the new shard', () => {
    const before = new HashRing(['s0', 's1', 's2', 's3']);
    const after = new HashRing(['s0', 's1', 's2', 's3', 's4']);
    let moved = 0;
    for (const id of ids) {
      const from = before.shardFor(id);
      const to = after.shardFor(id);
      if (from !== to) {
        moved++;
        assert.equal(to, 's4', `${id} moved between two old shards (${from} → ${to})`);
      }
    }
    const share = moved / ids.length;
    process.stdout.write(`# moved on adding a 5th shard: ${moved} of 10,000 (${(share * 100).toFixed(1)}%)\n`);
    assert.ok(share > 0.5 / 5 && share < 1.5 / 5, `moved share ${share}`);
  });

  it('places keys the same whatever order the shards are listed in, and deterministically', () => {
    const a = new HashRing(['x', 'y', 'z']);
    const b = new HashRing(['z', 'x', 'y']);
    for (const id of ids.slice(0, 1000)) assert.equal(a.shardFor(id), b.shardFor(id));
    assert.equal(hash32('session-1'), hash32('session-1'));
    assert.notEqual(hash32('session-1'), hash32('session-2'));
  });

  it('groups stored sessions by the shard owning each, keeping their order', () => {
    const ring = new HashRing(['x', 'y', 'z']);
    const records = ids.slice(0, 300).map((sessionId, i) => ({ sessionId, bytes: new Uint8Array([i % 256]) }));
    const grouped = ring.bytesByShard(records);
    for (const shard of ring.shards) {
      const expected = records.filter((r) => ring.shardFor(r.sessionId) === shard).map((r) => r.bytes);
      assert.deepEqual(grouped.get(shard) ?? [], expected);
    }
    assert.equal([...grouped.values()].flat().length, records.length);
    assert.equal(ring.bytesByShard([]).size, 0);
  });

  it('refuses an empty or duplicated shard list', () => {
    assert.throws(() => new HashRing([]), /at least one shard/);
    assert.throws(() => new HashRing(['a', 'a']), /unique/);
    assert.throws(() => new HashRing(['a'], 0), /virtualNodes/);
  });
});
