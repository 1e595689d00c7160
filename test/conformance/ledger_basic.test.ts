// ledger_basic: a counter changed at most once per change id for as long as the change's
// retention, however many changes came after it; refusals (floor, missing counter, onlyAfter)
// change nothing; concurrent changes of one key are all applied exactly once.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { LedgerChange, LedgerOutcome } from '../../src/drivers/capabilities';
import { uniqueName } from '../helpers/env';
import { forEachDriverWith } from './harness';
import { assertDriverError, sleep } from './support';

const DAY_MS = 24 * 3_600_000;
const change = (delta: number, extra: Partial<LedgerChange> = {}): LedgerChange => ({
  delta,
  retentionMs: DAY_MS,
  ...extra,
});
/** Just the contract's fields, so a driver may return more. */
const pick = (o: LedgerOutcome): LedgerOutcome => ({
  now: o.now,
  applied: o.applied,
  ...(o.reason === undefined ? {} : { reason: o.reason }),
});

forEachDriverWith('ledger_basic', (driver) => {
  it('applies a change once per change id; a repeat returns the counter and reason duplicate', async () => {
    const key = uniqueName('ledger-once');
    assert.equal(await driver().balance(key), null);
    assert.deepEqual(pick(await driver().applyChange(key, 'c1', change(-300, { initial: 1000 }))), {
      now: 700,
      applied: true,
    });
    assert.deepEqual(pick(await driver().applyChange(key, 'c1', change(-300, { initial: 1000 }))), {
      now: 700,
      applied: false,
      reason: 'duplicate',
    });
    assert.deepEqual(pick(await driver().applyChange(key, 'c2', change(50))), { now: 750, applied: true });
    assert.equal(await driver().balance(key), 750);
  });

  it('initial only counts for a key without a counter; without it such a change is refused as missing', async () => {
    const key = uniqueName('ledger-initial');
    assert.deepEqual(pick(await driver().applyChange(key, 'c1', change(5))), {
      now: null,
      applied: false,
      reason: 'missing',
    });
    assert.equal(await driver().balance(key), null);
    // Refused changes are not remembered: the same id applies once the counter can be created.
    assert.deepEqual(pick(await driver().applyChange(key, 'c1', change(5, { initial: 10 }))), {
      now: 15,
      applied: true,
    });
    assert.deepEqual(pick(await driver().applyChange(key, 'c2', change(5, { initial: 999 }))), {
      now: 20,
      applied: true,
    });
  });

  it('refuses a change that would go below the floor, changing nothing and not remembering it', async () => {
    const key = uniqueName('ledger-floor');
    assert.deepEqual(pick(await driver().applyChange(key, 'big', change(-1500, { initial: 1000, floor: 0 }))), {
      now: null,
      applied: false,
      reason: 'insufficient',
    });
    assert.equal(await driver().balance(key), null, 'no counter created by a refused change');
    await driver().applyChange(key, 'c1', change(-1000, { initial: 1000, floor: 0 }));
    assert.deepEqual(pick(await driver().applyChange(key, 'c2', change(-1, { floor: 0 }))), {
      now: 0,
      applied: false,
      reason: 'insufficient',
    });
    assert.deepEqual(pick(await driver().applyChange(key, 'c3', change(100))), { now: 100, applied: true });
    assert.deepEqual(pick(await driver().applyChange(key, 'c2', change(-1, { floor: 0 }))), { now: 99, applied: true });
    assert.deepEqual(pick(await driver().applyChange(key, 'neg', change(-200, { floor: -50 }))), {
      now: 99,
      applied: false,
      reason: 'insufficient',
    });
    assert.deepEqual(pick(await driver().applyChange(key, 'neg', change(-200, { floor: -101 }))), {
      now: -101,
      applied: true,
    });
  });

  it('onlyAfter applies an undo only after the change it undoes, once', async () => {
    const key = uniqueName('ledger-undo');
    assert.deepEqual(
      pick(await driver().applyChange(key, 'refund', change(300, { onlyAfter: 'charge', initial: 0 }))),
      {
        now: null,
        applied: false,
        reason: 'not_after',
      },
    );
    await driver().applyChange(key, 'charge', change(-300, { initial: 1000, floor: 0 }));
    assert.deepEqual(pick(await driver().applyChange(key, 'refund', change(300, { onlyAfter: 'charge' }))), {
      now: 1000,
      applied: true,
    });
    assert.deepEqual(pick(await driver().applyChange(key, 'refund', change(300, { onlyAfter: 'charge' }))), {
      now: 1000,
      applied: false,
      reason: 'duplicate',
    });
    // onlyAfter looks at this key only.
    const other = uniqueName('ledger-undo-other');
    assert.equal(
      (await driver().applyChange(other, 'refund', change(1, { onlyAfter: 'charge', initial: 0 }))).reason,
      'not_after',
    );
  });

  it('remembers a change id after more than 600 later changes of the same key', async () => {
    const key = uniqueName('ledger-history');
    await driver().applyChange(key, 'first', change(-1000, { initial: 1_000_000, floor: 0 }));
    for (let batch = 0; batch < 650; batch += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) => driver().applyChange(key, `later-${batch + i}`, change(-1, { floor: 0 }))),
      );
    }
    assert.equal(await driver().balance(key), 1_000_000 - 1000 - 650);
    assert.deepEqual(pick(await driver().applyChange(key, 'first', change(-1000, { floor: 0 }))), {
      now: 1_000_000 - 1000 - 650,
      applied: false,
      reason: 'duplicate',
    });
    assert.equal((await driver().applyChange(key, 'later-0', change(-1))).reason, 'duplicate');
  });

  it('forgets a change id after its retention: the same id applies again', async () => {
    const key = uniqueName('ledger-retention');
    await driver().applyChange(key, 'short', change(1, { initial: 0, retentionMs: 300 }));
    await driver().applyChange(key, 'long', change(10, { retentionMs: DAY_MS }));
    assert.equal((await driver().applyChange(key, 'short', change(1, { retentionMs: 300 }))).reason, 'duplicate');
    await sleep(800);
    assert.deepEqual(pick(await driver().applyChange(key, 'short', change(1, { retentionMs: 300 }))), {
      now: 12,
      applied: true,
    });
    assert.equal((await driver().applyChange(key, 'long', change(10))).reason, 'duplicate');
    // An undo whose original is forgotten finds nothing to undo.
    await sleep(800);
    assert.equal(
      (await driver().applyChange(key, 'undo-short', change(-1, { onlyAfter: 'short' }))).reason,
      'not_after',
    );
  });

  it('applies 200 concurrent distinct changes of one key exactly once each', async () => {
    const key = uniqueName('ledger-concurrent');
    await driver().applyChange(key, 'open', change(0, { initial: 0 }));
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, (_, i) => driver().applyChange(key, `c${i}`, change(i + 1))),
    );
    assert.equal(outcomes.filter((o) => o.applied).length, 200);
    assert.equal(await driver().balance(key), (200 * 201) / 2);
    const nows = new Set(outcomes.map((o) => o.now));
    assert.equal(nows.size, 200, 'every change saw its own counter');
  });

  it('concurrent changes that each may create the counter create it once and all apply', async () => {
    const key = uniqueName('ledger-create');
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, i) => driver().applyChange(key, `c${i}`, change(-1, { initial: 100, floor: 0 }))),
    );
    assert.equal(outcomes.filter((o) => o.applied).length, 30);
    assert.equal(await driver().balance(key), 70);
  });

  it('applies one change id submitted 50 times at once exactly once, also when it creates the counter', async () => {
    const key = uniqueName('ledger-same');
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, () => driver().applyChange(key, 'same', change(-7, { initial: 100, floor: 0 }))),
    );
    assert.equal(outcomes.filter((o) => o.applied).length, 1);
    assert.ok(outcomes.filter((o) => !o.applied).every((o) => o.reason === 'duplicate'));
    assert.equal(await driver().balance(key), 93);
  });

  it('refuses bad changes with InvalidArgument', async () => {
    const key = uniqueName('ledger-bad');
    await assertDriverError(
      () => driver().applyChange(key, '', change(1, { initial: 0 })),
      'InvalidArgument',
      'empty id',
    );
    await assertDriverError(
      () => driver().applyChange(key, 'x', change(1.5, { initial: 0 })),
      'InvalidArgument',
      'delta',
    );
    await assertDriverError(
      () => driver().applyChange(key, 'x', change(1, { initial: 0, retentionMs: 0 })),
      'InvalidArgument',
      'retention',
    );
    await assertDriverError(
      () => driver().applyChange(key, 'x', { delta: 1 } as LedgerChange),
      'InvalidArgument',
      'no retention',
    );
    await assertDriverError(() => driver().applyChange('', 'x', change(1, { initial: 0 })), 'InvalidArgument', 'key');
    assert.equal(await driver().balance(key), null);
  });
});
