// Last-writer-wins merge: commutative, associative, idempotent, so replicas converge in any order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeRecord,
  decodeValue,
  encodeRecord,
  encodeValue,
  mergeRecords,
  nextStamp,
  own,
  recordText,
  type SessionRecord,
} from '../../../src/workflows/session-store/logic';

function base(): SessionRecord {
  return {
    sessionId: 's1',
    metadata: { userId: 'u', region: 'a', clientId: 'c', attributes: {} },
    metaStamp: { ts: 100, region: 'a' },
    createdAt: 100,
    ttlSeconds: 60,
    expiresAt: 60_100,
    lastAccessed: 100,
    writtenAt: 100,
    data: {},
    deleted: null,
  };
}

function withWrite(r: SessionRecord, key: string, value: string, ts: number, region: string): SessionRecord {
  const out = structuredClone(r);
  out.data[key] = { value: encodeValue(value), stamp: { ts, region } };
  out.lastAccessed = Math.max(out.lastAccessed, ts);
  out.writtenAt = Math.max(out.writtenAt, ts);
  out.expiresAt = Math.max(out.expiresAt, ts + 60_000);
  return out;
}

const bytes = (r: SessionRecord) => Buffer.from(encodeRecord(r)).toString();

describe('session store: record merge', () => {
  const a = withWrite(base(), 'k', 'from-a', 200, 'a');
  const b = withWrite(base(), 'k', 'from-b', 200, 'b'); // same ms: the region breaks the tie
  const c = withWrite(withWrite(base(), 'other', 'x', 150, 'c'), 'k', 'old', 120, 'c');

  it('the later stamp wins, ties go to the larger region name', () => {
    const m = mergeRecords(a, b);
    assert.equal(decodeValue(m.data.k.value!), 'from-b');
    assert.equal(decodeValue(mergeRecords(a, c).data.k.value!), 'from-a');
    assert.equal(decodeValue(mergeRecords(a, c).data.other.value!), 'x');
  });

  it('is commutative, associative and idempotent (byte-equal results)', () => {
    assert.equal(bytes(mergeRecords(a, b)), bytes(mergeRecords(b, a)));
    assert.equal(bytes(mergeRecords(mergeRecords(a, b), c)), bytes(mergeRecords(a, mergeRecords(b, c))));
    assert.equal(bytes(mergeRecords(mergeRecords(c, a), b)), bytes(mergeRecords(b, mergeRecords(a, c))));
    assert.equal(bytes(mergeRecords(a, a)), bytes(a));
  });

  it('merges data keys named like members of Object.prototype as any other key', () => {
    const named = withWrite(a, 'toString', 'x', 210, 'a');
    for (const m of [mergeRecords(named, b), mergeRecords(b, named)]) {
      assert.equal(decodeValue(own(m.data, 'toString')!.value!), 'x');
      assert.equal(decodeValue(m.data.k.value!), 'from-b');
    }
    assert.equal(bytes(mergeRecords(named, b)), bytes(mergeRecords(b, named)));
  });

  it('a delete tombstone wins over any data and survives merging', () => {
    const dead = structuredClone(a);
    dead.deleted = { ts: 150, region: 'a' };
    dead.data = {};
    const m = mergeRecords(b, dead);
    assert.deepEqual(m.deleted, { ts: 150, region: 'a' });
    assert.deepEqual(m.data, {});
  });

  it('encodes data in key order whatever order it was written in, digit keys included', () => {
    const keys = ['b', '10', 'a', '9', 'A', 'b2'];
    let forward = base();
    let backward = base();
    for (const [i, key] of keys.entries()) forward = withWrite(forward, key, `v${key}`, 200 + i, 'a');
    for (let i = keys.length - 1; i >= 0; i--) backward = withWrite(backward, keys[i], 'x', 100 + i, 'a');
    for (const key of keys) backward.data[key] = forward.data[key];
    backward.lastAccessed = forward.lastAccessed;
    backward.writtenAt = forward.writtenAt;
    backward.expiresAt = forward.expiresAt;
    assert.equal(bytes(forward), bytes(backward));
    // A decoded record (data already in order) encodes to the same bytes, and so does recordText.
    assert.equal(bytes(decodeRecord(encodeRecord(forward))), bytes(forward));
    assert.equal(Buffer.from(recordText(backward)).toString(), bytes(forward));
  });

  it('bytes and JSON values round-trip; stamps never go backwards', () => {
    const v = encodeValue(new Uint8Array([0, 255, 7]));
    assert.deepEqual(decodeValue(v), new Uint8Array([0, 255, 7]));
    assert.deepEqual(decodeValue(encodeValue({ n: [1, 'x'] })), { n: [1, 'x'] });
    assert.deepEqual(decodeRecord(encodeRecord(a)), a);
    assert.equal(nextStamp(a, 50, 'z').ts, 201);
    assert.equal(nextStamp(a, 500, 'z').ts, 500);
  });
});
