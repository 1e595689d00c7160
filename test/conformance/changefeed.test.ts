// changefeed: a compare-and-set whose success is recorded in a named feed in the same atomic
// step, read back in order from a checkpoint; readers' checkpoints hold trimming back, and a
// reader whose entries were trimmed away is told so (gap).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { ChangeFeed } from '../../src/drivers/capabilities';
import { uniqueName } from '../helpers/env';
import { forEachDriverWith } from './harness';
import { assertBytes, assertDriverError, bytes, sleep, text } from './support';

/** Adds one to the counter at key with logged compare-and-set, retrying on conflict from the value returned. */
async function increment(feed: ChangeFeed, name: string, key: string): Promise<number> {
  let current: { value: number; version: string | null } = { value: 0, version: null };
  for (let attempt = 0; attempt < 10_000; attempt++) {
    const next = current.value + 1;
    const r = await feed.compareAndSetLogged(name, key, bytes(String(next)), current.version);
    if (r.ok) return next;
    current = { value: r.current === null ? 0 : Number(text(r.current)), version: r.version };
  }
  throw new Error('increment: too many conflicts');
}

async function readAll(feed: ChangeFeed, name: string, after: string | null) {
  const out: { offset: string; key: string; value: string | null }[] = [];
  let at = after;
  for (;;) {
    const page = await feed.readFeed(name, { after: at, limit: 7 });
    assert.equal(page.gap, false);
    if (page.entries.length === 0) return out;
    for (const e of page.entries) out.push({ offset: e.offset, key: e.key, value: text(e.value) });
    at = page.entries[page.entries.length - 1].offset;
  }
}

forEachDriverWith('changefeed', (driver) => {
  it('records each successful write, in order, with its key and value; a failed one records nothing', async () => {
    const feed = uniqueName('cf-order');
    const [k1, k2] = [uniqueName('cf-k1'), uniqueName('cf-k2')];
    assert.equal(await driver().feedHead(feed), null, 'a feed nobody wrote is empty');
    const a = await driver().compareAndSetLogged(feed, k1, bytes('one'), null, 60);
    assert.equal(a.ok, true);
    assert.equal(typeof a.offset, 'string');
    const b = await driver().compareAndSetLogged(feed, k2, bytes('two'), null);
    const c = await driver().compareAndSetLogged(feed, k1, bytes('three'), a.version);
    assert.equal(c.ok, true);
    const refused = await driver().compareAndSetLogged(feed, k1, bytes('stale'), a.version);
    assert.equal(refused.ok, false);
    assert.equal(refused.version, c.version, 'a conflict returns the stored version');
    assertBytes(refused.current, bytes('three'), 'and the stored value');
    const absent = await driver().compareAndSetLogged(feed, uniqueName('cf-none'), bytes('x'), '12345');
    assert.deepEqual([absent.ok, absent.version, absent.current], [false, null, null]);

    const all = await readAll(driver(), feed, null);
    assert.deepEqual(all, [
      { offset: a.offset, key: k1, value: 'one' },
      { offset: b.offset, key: k2, value: 'two' },
      { offset: c.offset, key: k1, value: 'three' },
    ]);
    assert.equal(await driver().feedHead(feed), c.offset);
    assert.deepEqual(await readAll(driver(), feed, a.offset), all.slice(1), 'reading after an offset skips it');
    assert.deepEqual(await readAll(driver(), feed, c.offset), [], 'nothing after the head');
  });

  it('concurrent writers: one entry per successful write, the values in commit order', async () => {
    const feed = uniqueName('cf-race');
    const key = uniqueName('cf-counter');
    const finals = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const mine: number[] = [];
        for (let i = 0; i < 10; i++) mine.push(await increment(driver(), feed, key));
        return mine;
      }),
    );
    assert.equal(Math.max(...finals.flat()), 80);
    const all = await readAll(driver(), feed, null);
    assert.deepEqual(
      all.map((e) => e.value),
      Array.from({ length: 80 }, (_, i) => String(i + 1)),
    );
  });

  it('a read waiting for entries returns a write made while it waits', async () => {
    const feed = uniqueName('cf-wait');
    const head = (await driver().compareAndSetLogged(feed, uniqueName('cf-a'), bytes('before'), null)).offset;
    const reading = driver().readFeed(feed, { after: head, waitMs: 8000 });
    await sleep(100);
    const key = uniqueName('cf-b');
    await driver().compareAndSetLogged(feed, key, bytes('during'), null);
    const page = await reading;
    assert.equal(page.gap, false);
    assert.deepEqual(
      page.entries.map((e) => [e.key, text(e.value)]),
      [[key, 'during']],
    );
    const idle = await driver().readFeed(feed, { after: page.entries[0].offset, waitMs: 50 });
    assert.deepEqual(idle, { entries: [], gap: false }, 'an idle wait ends empty');
  });

  it('trims only what every reader committed, unless past maxEntries; a reader trimmed past sees a gap', async () => {
    const feed = uniqueName('cf-trim');
    const offsets: string[] = [];
    for (let i = 0; i < 10; i++) {
      offsets.push((await driver().compareAndSetLogged(feed, uniqueName('cf-t'), bytes(String(i)), null)).offset!);
    }
    await driver().commitFeed(feed, 'fast', offsets[7]);
    await driver().commitFeed(feed, 'slow', offsets[2]);
    await driver().commitFeed(feed, 'slow', offsets[1]); // never moves back
    assert.equal(await driver().trimFeed(feed, { maxEntries: 100 }), 3, 'entries 0..2 went');
    assert.deepEqual(
      (await readAll(driver(), feed, offsets[2])).map((e) => e.value),
      ['3', '4', '5', '6', '7', '8', '9'],
      'the slow reader misses nothing',
    );
    assert.equal((await driver().readFeed(feed, { after: null })).gap, true, 'from the start, some are gone');

    assert.equal(await driver().trimFeed(feed, { maxEntries: 4 }), 3, 'the oldest past 4 entries went');
    const slow = await driver().readFeed(feed, { after: offsets[2] });
    assert.equal(slow.gap, true, 'the slow reader is told it missed entries');
    assert.deepEqual(
      slow.entries.map((e) => text(e.value)),
      ['6', '7', '8', '9'],
    );
    const fast = await driver().readFeed(feed, { after: offsets[7] });
    assert.deepEqual([fast.gap, fast.entries.map((e) => text(e.value))], [false, ['8', '9']]);
    const atTrim = await driver().readFeed(feed, { after: offsets[5] });
    assert.equal(atTrim.gap, false, 'a reader exactly at the trimmed edge missed nothing');
    assert.equal(await driver().feedHead(feed), offsets[9]);
    await driver().commitFeed(feed, 'slow', offsets[9]);
    await driver().commitFeed(feed, 'fast', offsets[9]);
    assert.equal(await driver().trimFeed(feed, { maxEntries: 100 }), 4);
    assert.equal(await driver().feedHead(feed), offsets[9], 'an emptied feed keeps its head');
    const later = await driver().compareAndSetLogged(feed, uniqueName('cf-t'), bytes('later'), null);
    const after = await driver().readFeed(feed, { after: offsets[9] });
    assert.deepEqual([after.gap, after.entries.map((e) => e.offset)], [false, [later.offset]]);
  });

  it('refuses bad arguments with InvalidArgument', async () => {
    const feed = uniqueName('cf-bad');
    await assertDriverError(() => driver().readFeed(feed, { after: 'not an offset' }), 'InvalidArgument', 'after');
    await assertDriverError(() => driver().readFeed('', { after: null }), 'InvalidArgument', 'feed');
    await assertDriverError(() => driver().trimFeed(feed, { maxEntries: -1 }), 'InvalidArgument', 'maxEntries');
    await assertDriverError(() => driver().commitFeed(feed, 'r', 'nope'), 'InvalidArgument', 'offset');
    await assertDriverError(() => driver().compareAndSetLogged(feed, '', bytes('x'), null), 'InvalidArgument', 'key');
  });
});
