// cdc_snapshot: an initial snapshot consistent with where the slot's stream starts (each row in
// the snapshot or in the stream, never both), its rows decoded exactly like streamed ones, read in
// chunks that record how far delivery got, then finished or forgotten. A slot that already
// streams gets no snapshot. Every case uses slots and tables of its own.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { Client } from 'pg';
import type { RowChange } from '../../src/drivers/capabilities';
import { stackEnv } from '../helpers/env';
import { forEachDriverWith } from './harness';
import { assertDriverError, withCapability } from './support';

const suffix = (): string => `${process.pid}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

function lsnValue(lsn: string): bigint {
  const match = /^([0-9A-F]+)\/([0-9A-F]+)$/i.exec(lsn);
  assert.ok(match, `not an LSN: ${lsn}`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

forEachDriverWith('cdc_snapshot', (driver) => {
  const pg = new Client({ connectionString: stackEnv.postgresUrl });
  const table = `cdc_snap_${suffix()}`;
  const captures: { slot: string; publication: string }[] = [];
  const cdc = () => withCapability(driver(), 'cdc_source');

  const newCapture = (): { slot: string; publication: string } => {
    const id = suffix();
    const capture = { slot: `prism_test_snap_${id}`, publication: `prism_test_snap_pub_${id}` };
    captures.push(capture);
    return capture;
  };

  before(async () => {
    await pg.connect();
    await pg.query(`CREATE TABLE public.${table} (
      id int PRIMARY KEY, name text, amount numeric(10, 2), active boolean, doc jsonb,
      placed timestamptz, big bigint, blob bytea)`);
    await pg.query(
      `INSERT INTO public.${table} SELECT g, 'row ' || g, g * 1.5, g % 2 = 0, '{}', now(), g, '\\x00'
       FROM generate_series(1, 10) g`,
    );
    await pg.query(
      `INSERT INTO public.${table} VALUES
         (9001, 'snap', 12.25, false, '{"a": {"b": null}}', '2024-02-29 23:59:59.5-05', -42, '\\xdeadbeef')`,
    );
  });

  // The harness closes the driver first: clean up with SQL.
  after(async () => {
    for (const c of captures) {
      await pg
        .query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [c.slot])
        .catch(() => undefined);
      await pg.query(`DROP PUBLICATION IF EXISTS ${c.publication}`).catch(() => undefined);
      for (const t of ['cdc_snapshots', 'cdc_snapshot_rows']) {
        await pg.query(`DELETE FROM prism_store.${t} WHERE slot = $1`, [c.slot]).catch(() => undefined);
      }
    }
    await pg.query(`DROP TABLE IF EXISTS public.${table}`);
    await pg.end();
  });

  it('stages a snapshot consistent with the slot, its rows decoded like streamed ones', async () => {
    const capture = newCapture();
    const info = await driver().prepareSnapshot({ ...capture, tables: [`public.${table}`] });
    assert.ok(info, 'a new slot gets a snapshot');
    assert.equal(info.state, 'staged');
    assert.equal(info.rows, 11);
    assert.equal(info.deliveredUpTo, 0);
    const staged = await driver().readSnapshot({ slot: capture.slot, after: 0, limit: 10_000 });
    assert.equal(staged.length, 11);
    assert.deepEqual(
      staged.map((c) => (c.key as { id: number }).id),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 9001],
      'in primary-key order',
    );
    const r = staged.find((c) => (c.key as { id?: number }).id === 9001)!;
    assert.equal(r.op, 'r');
    assert.equal(r.lsn, info.lsn);

    await pg.query(`UPDATE public.${table} SET name = name WHERE id = 9001`);
    let changes: RowChange[] = [];
    for (let i = 0; i < 40 && changes.length === 0; i++) {
      ({ changes } = await cdc().readChanges({ ...capture, waitMs: 500 }));
    }
    // The rows came before the slot's start: only the update streams.
    assert.deepEqual(
      changes.map((c) => `${c.op} ${JSON.stringify(c.key)}`),
      ['u {"id":9001}'],
    );
    assert.deepEqual(changes[0]!.before, r.after, 'snapshot values equal streamed values');
    assert.ok(lsnValue(changes[0]!.lsn) > lsnValue(info.lsn!), 'the stream starts after the snapshot');
  });

  it('reads in chunks that record delivery, resumes there, then finishes and forgets', async () => {
    const capture = newCapture();
    const options = { ...capture, tables: [`public.${table}`] };
    await driver().prepareSnapshot(options);
    const first = await driver().readSnapshot({ slot: capture.slot, after: 0, limit: 4 });
    assert.deepEqual(
      first.map((c) => c.sequence),
      [1, 2, 3, 4],
    );
    const second = await driver().readSnapshot({ slot: capture.slot, after: 4, limit: 4 });
    assert.deepEqual(
      second.map((c) => c.sequence),
      [5, 6, 7, 8],
    );
    // Preparing again (a new run) keeps the staged rows and says how far delivery got.
    const again = await driver().prepareSnapshot(options);
    assert.equal(again?.state, 'staged');
    assert.equal(again?.deliveredUpTo, 4);
    await driver().finishSnapshot({ slot: capture.slot });
    const done = await driver().prepareSnapshot(options);
    assert.equal(done?.state, 'done');
    assert.equal(done?.deliveredUpTo, 11);
    await assertDriverError(
      () => driver().readSnapshot({ slot: capture.slot, after: 11, limit: 4 }),
      'NotFound',
      'reading a finished snapshot',
    );
    await driver().forgetSnapshot({ slot: capture.slot });
    // Forgotten, with the slot still there: it streams on without a snapshot.
    assert.equal(await driver().prepareSnapshot(options), null);
  });

  it('gives no snapshot to a slot that already streams', async () => {
    const capture = newCapture();
    await cdc().ensureCapture({ ...capture, tables: [`public.${table}`] });
    assert.equal(await driver().prepareSnapshot({ ...capture, tables: [`public.${table}`] }), null);
  });

  it('refuses bad input', async () => {
    const { slot } = newCapture();
    await assertDriverError(() => driver().readSnapshot({ slot, after: -1, limit: 4 }), 'InvalidArgument', 'after -1');
    await assertDriverError(() => driver().readSnapshot({ slot, after: 0, limit: 0 }), 'InvalidArgument', 'limit 0');
  });
});
