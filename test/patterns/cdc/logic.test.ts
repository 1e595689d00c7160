// The CDC workflow's pure logic (src/workflows/cdc/logic.ts): a pipeline's status, its totals,
// rate and lag, and the round in flight counted in.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { initialStatus, lagSecondsOf, recordBatch, withRoundInFlight } from '../../../src/workflows/cdc/logic';

describe('cdc status', () => {
  it('folds batches into totals, rate and lag', () => {
    let status = initialStatus('p', 0);
    let window: [number, number][] = [];
    ({ status, window } = recordBatch(status, window, {
      nowMs: 1_000,
      changesRead: 10,
      delivered: 8,
      position: '0/10',
      lagBytes: 100,
      lagSeconds: 0.5,
    }));
    ({ status, window } = recordBatch(status, window, {
      nowMs: 3_000,
      changesRead: 0,
      delivered: 0,
      position: null,
      lagBytes: null,
      lagSeconds: 0,
    }));
    assert.equal(status.lastLsn, '0/10');
    assert.equal(status.lagBytes, 100);
    assert.deepEqual(status.totals, { changesRead: 10, eventsDelivered: 8, filtered: 2, batches: 2 });
    assert.equal(status.eventsPerSecond, 4);
    ({ status } = recordBatch(status, window, {
      nowMs: 20_000,
      changesRead: 0,
      delivered: 0,
      position: null,
      lagBytes: 0,
      lagSeconds: 0,
    }));
    assert.equal(status.eventsPerSecond, 0, 'old batches leave the window');
    // A streaming round's events count over the round, not as if they came at once.
    ({ status } = recordBatch(status, [], {
      nowMs: 60_000,
      changesRead: 3_000,
      delivered: 3_000,
      position: '0/20',
      lagBytes: 0,
      lagSeconds: 0,
      spanMs: 30_000,
    }));
    assert.equal(status.eventsPerSecond, 100);
    assert.equal(lagSecondsOf(['1970-01-01T00:00:01.000Z', '1970-01-01T00:00:02.000Z'], 4_000), 3);
    assert.equal(lagSecondsOf([], 4_000), 0);
  });

  it('adds the round in flight, as its last heartbeat carries it, to the recorded status', () => {
    const { status } = recordBatch(initialStatus('p', 0), [], {
      nowMs: 1_000,
      changesRead: 10,
      delivered: 8,
      position: '0/10',
      lagBytes: 100,
      lagSeconds: 0.5,
    });
    const idle = { changesRead: 0, delivered: 0, batches: 0, position: null, lagBytes: 5, lagSeconds: 0 };
    assert.deepEqual(withRoundInFlight(status, idle), status, 'a round with nothing yet adds nothing');
    const live = withRoundInFlight(status, {
      changesRead: 7,
      delivered: 6,
      batches: 2,
      position: '0/20',
      lagBytes: 40,
      lagSeconds: 0.25,
      lastBatchAt: '1970-01-01T00:00:05.000Z',
    });
    assert.deepEqual(live.totals, { changesRead: 17, eventsDelivered: 14, filtered: 3, batches: 3 });
    assert.equal(live.lastLsn, '0/20');
    assert.equal(live.lagBytes, 40);
    assert.equal(live.lagSeconds, 0.25);
    assert.equal(live.lastBatchAt, '1970-01-01T00:00:05.000Z');
    // A heartbeat from a worker before lastBatchAt keeps the recorded one.
    const older = withRoundInFlight(status, { ...idle, changesRead: 1, delivered: 1, batches: 1, position: '0/30' });
    assert.equal(older.lastBatchAt, status.lastBatchAt);
  });
});
