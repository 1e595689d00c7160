// The multicast ledger: counts, bounded status list (failures kept first), and state that
// survives continue-as-new.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MulticastLedger } from '../../../src/workflows/multicast-registry/logic';

describe('multicast ledger', () => {
  it('counts targets, deliveries and failures', () => {
    const l = new MulticastLedger();
    l.addTargets(3);
    l.deliver('a', 1);
    l.fail('b', 2, 'boom');
    const r = l.report(false, 'at-least-once', 'pubsub');
    assert.deepEqual(
      { targetCount: r.targetCount, delivered: r.delivered, failed: r.failed, pending: r.pending, done: r.done },
      { targetCount: 3, delivered: 1, failed: 1, pending: 1, done: false },
    );
    assert.deepEqual(r.statuses, [
      { identity: 'b', status: 'failed', attempts: 2, error: 'boom' },
      { identity: 'a', status: 'delivered', attempts: 1 },
    ]);
    assert.equal(r.statusesTruncated, false);
    // The progress query: the same counts, no statuses.
    assert.deepEqual(l.progress(false), { targetCount: 3, delivered: 1, failed: 1, pending: 1, done: false });
  });

  it('keeps the status list bounded, failures first', () => {
    const l = new MulticastLedger(undefined, 3);
    l.addTargets(6);
    for (const id of ['a', 'b', 'c', 'd']) l.deliver(id, 1);
    l.fail('x', 1, 'e1');
    l.fail('y', 1, 'e2');
    const r = l.report(true, 'at-least-once', 'pubsub');
    assert.equal(r.statuses.length, 3);
    assert.deepEqual(
      r.statuses.map((s) => s.identity),
      ['x', 'y', 'a'],
    );
    assert.equal(r.statusesTruncated, true);
    assert.equal(r.delivered, 4);
    assert.equal(r.failed, 2);
  });

  it('state round-trips (continue-as-new) without sharing', () => {
    const l = new MulticastLedger();
    l.addTargets(2);
    l.deliver('a', 1);
    const copy = new MulticastLedger(JSON.parse(JSON.stringify(l.state())));
    copy.deliver('b', 1);
    assert.equal(l.report(false, 'at-most-once', 'pubsub').delivered, 1);
    assert.equal(copy.report(true, 'at-most-once', 'pubsub').delivered, 2);
    assert.equal(copy.accounted, 2);
  });
});
