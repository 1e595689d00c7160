// cdc_source: committed row changes in commit order with before/after/key, at-least-once delivery
// (nothing is consumed until confirmed), positions inside a transaction cut by `limit`, and typed
// errors for bad input. The source tables are Postgres tables this suite creates with pg directly.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { Client } from 'pg';
import type { CdcChangeStream, RowChange } from '../../src/drivers/capabilities';
import { isDriverError, type DriverErrorCode } from '../../src/drivers/errors';
import { stackEnv } from '../helpers/env';
import { DRIVERS, forEachDriverWith, type DriverWith } from './harness';

type Cdc = DriverWith<'cdc_source'>;

const EVENTUALLY_MS = 20_000;

/** Lower-case letters, digits and underscores: valid for slots and unquoted identifiers. */
const suffix = (): string => `${process.pid}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

function lsnValue(lsn: string): bigint {
  const match = /^([0-9A-F]+)\/([0-9A-F]+)$/i.exec(lsn);
  assert.ok(match, `not an LSN: ${lsn}`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

async function assertDriverError(
  run: () => Promise<unknown>,
  code: DriverErrorCode,
  what: string,
  mentions?: string,
): Promise<void> {
  await assert.rejects(run, (err: unknown) => {
    assert.ok(isDriverError(err), `${what}: expected a DriverError, got ${String(err)}`);
    assert.equal(err.code, code, `${what}: expected ${code}, got ${err.code} (${err.message})`);
    if (mentions) assert.ok(err.message.includes(mentions), `${what}: message should name ${mentions}: ${err.message}`);
    return true;
  });
}

/** Reads (without confirming) until at least `count` changes are pending; fails after a while. */
async function readAtLeast(
  cdc: Cdc,
  capture: { slot: string; publication: string },
  count: number,
  limit = 100,
): Promise<{ changes: RowChange[]; lastLsn: string | null }> {
  const deadline = Date.now() + EVENTUALLY_MS;
  while (true) {
    const result = await cdc.readChanges({ ...capture, limit, waitMs: 500 });
    if (result.changes.length >= Math.min(count, limit)) return result;
    if (Date.now() > deadline) {
      assert.fail(`expected ${count} changes, got ${result.changes.length} after ${EVENTUALLY_MS} ms`);
    }
  }
}

/** Asserts nothing is pending (a short wait: commits become readable within moments). */
async function assertNothingPending(cdc: Cdc, capture: { slot: string; publication: string }, what: string) {
  const result = await cdc.readChanges({ ...capture, waitMs: 1_000 });
  assert.deepEqual(
    result.changes.map((c) => `${c.op} ${c.table} ${c.lsn}#${c.sequence}`),
    [],
    `${what}: nothing should be pending`,
  );
}

/**
 * Cleanup through pg: the harness may already have closed the driver. Leftover slots would keep
 * WAL forever.
 */
async function cleanUp(pg: Client, captures: { slot: string; publication: string }[], tables: string[]) {
  await pg
    .query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = ANY($1)', [
      captures.map((c) => c.slot),
    ])
    .catch(() => undefined);
  for (const capture of captures) {
    await pg.query(`DROP PUBLICATION IF EXISTS ${capture.publication}`).catch(() => undefined);
  }
  await pg.query(`DROP TABLE IF EXISTS ${tables.map((t) => `public.${t}`).join(', ')}`).catch(() => undefined);
  await pg.end();
}

/**
 * Takes from a change stream until at least `count` changes and a position covering them came;
 * fails after a while.
 */
async function streamAtLeast(
  stream: CdcChangeStream,
  count: number,
): Promise<{ changes: RowChange[]; position: string; complete: boolean }> {
  const deadline = Date.now() + EVENTUALLY_MS;
  const changes: RowChange[] = [];
  let position: string | null = null;
  let complete = false;
  while (changes.length < count || position === null || !complete) {
    const left = deadline - Date.now();
    if (left <= 0) assert.fail(`expected ${count} changes and a position, got ${changes.length} (${position})`);
    const batch = await stream.next({ limit: 100, signal: AbortSignal.timeout(left) });
    changes.push(...batch.changes);
    if (batch.changes.length > 0) position = null;
    position = batch.position ?? position;
    if (batch.changes.length > 0 || batch.position !== null) complete = batch.complete;
  }
  return { changes, position, complete };
}

const summary = (changes: RowChange[]): string[] =>
  changes.map((c) => `${c.op} ${c.table} ${JSON.stringify(c.key)} #${c.sequence}`);

forEachDriverWith('cdc_source', (driver, name) => {
  const pg = new Client({ connectionString: stackEnv.postgresUrl });
  const tag = suffix();
  const tableA = `cdc_orders_${tag}`;
  const tableB = `cdc_notes_${tag}`;
  const captures: { slot: string; publication: string }[] = [];

  /** A fresh slot and publication over both tables, dropped after the suite. */
  async function newCapture(): Promise<{ slot: string; publication: string }> {
    const id = suffix();
    const capture = { slot: `prism_test_${id}`, publication: `prism_test_pub_${id}` };
    captures.push(capture);
    await driver().ensureCapture({ ...capture, tables: [`public.${tableA}`, `public.${tableB}`] });
    return capture;
  }

  before(async () => {
    await pg.connect();
    await pg.query(`CREATE TABLE public.${tableA} (
      id int PRIMARY KEY, name text, amount numeric(10, 2), active boolean, doc jsonb,
      placed timestamptz, big bigint, blob bytea)`);
    await pg.query(`CREATE TABLE public.${tableB} (id int PRIMARY KEY, note text)`);
  });

  after(async () => {
    await cleanUp(pg, captures, [tableA, tableB]);
  });

  it('reports inserts, updates and deletes on two tables in commit order, with before, after and key', async () => {
    const capture = await newCapture();
    // A second ensureCapture reuses the slot and publication.
    await driver().ensureCapture({ ...capture, tables: [`public.${tableA}`, `public.${tableB}`] });

    await pg.query('BEGIN');
    await pg.query(
      `INSERT INTO public.${tableA} VALUES
         (1, 'one', 10.5, true, '{"k": [1, 2]}', '2024-05-01 12:00:00.25+02', 9007199254740993, '\\x00ff')`,
    );
    await pg.query(`INSERT INTO public.${tableB} VALUES (100, 'first note')`);
    await pg.query('COMMIT');
    await pg.query(`UPDATE public.${tableA} SET name = 'uno', amount = 11 WHERE id = 1`);
    await pg.query(`DELETE FROM public.${tableB} WHERE id = 100`);

    const { changes, lastLsn } = await readAtLeast(driver(), capture, 4);
    assert.deepEqual(summary(changes), [
      `c ${tableA} {"id":1} #1`,
      `c ${tableB} {"id":100} #2`,
      `u ${tableA} {"id":1} #1`,
      `d ${tableB} {"id":100} #1`,
    ]);
    const [insertA, insertB, update, remove] = changes as [RowChange, RowChange, RowChange, RowChange];
    const row1 = {
      id: 1,
      name: 'one',
      amount: '10.50',
      active: true,
      doc: { k: [1, 2] },
      placed: '2024-05-01T10:00:00.25Z',
      big: '9007199254740993',
      blob: Buffer.from([0x00, 0xff]).toString('base64'),
    };
    for (const change of changes) assert.equal(change.schema, 'public');
    assert.equal(insertA.before, null);
    assert.deepEqual(insertA.after, row1);
    assert.deepEqual(insertB.after, { id: 100, note: 'first note' });
    assert.deepEqual(update.before, row1);
    assert.deepEqual(update.after, { ...row1, name: 'uno', amount: '11.00' });
    assert.deepEqual(remove.before, { id: 100, note: 'first note' });
    assert.equal(remove.after, null);

    // One transaction: same commit position and txId; later transactions commit later.
    assert.equal(insertA.lsn, insertB.lsn);
    assert.equal(insertA.txId, insertB.txId);
    assert.equal(typeof insertA.txId, 'number');
    assert.ok(lsnValue(update.lsn) > lsnValue(insertA.lsn), 'update commits after the inserts');
    assert.ok(lsnValue(remove.lsn) > lsnValue(update.lsn), 'delete commits after the update');
    assert.notEqual(update.txId, insertA.txId);
    for (const change of changes) assert.ok(!Number.isNaN(Date.parse(change.commitTime)), 'commitTime is a date');

    assert.ok(lastLsn, 'a position to confirm');
    await driver().confirm({ slot: capture.slot, lsn: lastLsn });
    await assertNothingPending(driver(), capture, 'after confirming everything');

    // New changes after the confirm come alone.
    await pg.query(`INSERT INTO public.${tableB} VALUES (101, 'second note')`);
    const next = await readAtLeast(driver(), capture, 1);
    assert.deepEqual(summary(next.changes), [`c ${tableB} {"id":101} #1`]);
    assert.ok(lsnValue(next.changes[0]!.lsn) > lsnValue(remove.lsn));
    await driver().confirm({ slot: capture.slot, lsn: next.lastLsn! });
    await assertNothingPending(driver(), capture, 'after the second confirm');
  });

  it('delivers at least once: without confirm the same changes come again', async () => {
    const capture = await newCapture();
    for (const id of [10, 11, 12]) await pg.query(`INSERT INTO public.${tableB} VALUES ($1, $2)`, [id, `n${id}`]);

    const first = await readAtLeast(driver(), capture, 3);
    assert.deepEqual(summary(first.changes), [
      `c ${tableB} {"id":10} #1`,
      `c ${tableB} {"id":11} #1`,
      `c ${tableB} {"id":12} #1`,
    ]);
    const again = await driver().readChanges({ ...capture });
    assert.deepEqual(again.changes, first.changes, 'unconfirmed changes are read again, unchanged');
    assert.equal(again.lastLsn, first.lastLsn);

    // Confirming only the first transaction leaves the other two pending.
    const afterFirst = await driver().readChanges({ ...capture, limit: 1 });
    assert.deepEqual(summary(afterFirst.changes), [`c ${tableB} {"id":10} #1`]);
    await driver().confirm({ slot: capture.slot, lsn: afterFirst.lastLsn! });
    const rest = await driver().readChanges({ ...capture });
    assert.deepEqual(summary(rest.changes), [`c ${tableB} {"id":11} #1`, `c ${tableB} {"id":12} #1`]);

    await driver().confirm({ slot: capture.slot, lsn: rest.lastLsn! });
    // Confirming an older position again changes nothing.
    await driver().confirm({ slot: capture.slot, lsn: afterFirst.lastLsn! });
    await driver().confirm({ slot: capture.slot, lsn: rest.lastLsn! });
    await assertNothingPending(driver(), capture, 'after confirming all three');
  });

  it('cuts a transaction larger than limit and resumes inside it after confirm', async () => {
    const capture = await newCapture();
    await pg.query('BEGIN');
    for (const id of [20, 21, 22, 23, 24]) await pg.query(`INSERT INTO public.${tableB} VALUES ($1, 'bulk')`, [id]);
    await pg.query('COMMIT');
    await pg.query(`INSERT INTO public.${tableA} (id, name) VALUES (30, 'after the bulk')`);

    const one = await readAtLeast(driver(), capture, 2, 2);
    assert.deepEqual(summary(one.changes), [`c ${tableB} {"id":20} #1`, `c ${tableB} {"id":21} #2`]);
    assert.ok(one.lastLsn);
    // Not confirmed yet: the same two again.
    const same = await driver().readChanges({ ...capture, limit: 2 });
    assert.deepEqual(same.changes, one.changes);

    await driver().confirm({ slot: capture.slot, lsn: one.lastLsn });
    const two = await driver().readChanges({ ...capture, limit: 2 });
    assert.deepEqual(summary(two.changes), [`c ${tableB} {"id":22} #3`, `c ${tableB} {"id":23} #4`]);
    assert.equal(two.changes[0]!.lsn, one.changes[0]!.lsn, 'still the same transaction');

    await driver().confirm({ slot: capture.slot, lsn: two.lastLsn! });
    const three = await driver().readChanges({ ...capture, limit: 10 });
    assert.deepEqual(summary(three.changes), [`c ${tableB} {"id":24} #5`, `c ${tableA} {"id":30} #1`]);

    await driver().confirm({ slot: capture.slot, lsn: three.lastLsn! });
    await assertNothingPending(driver(), capture, 'after the last confirm');
  });

  it('streams changes as they commit, the same as a read gives them, from the confirmed position on', async () => {
    const capture = await newCapture();
    await pg.query(`INSERT INTO public.${tableB} VALUES (40, 'streamed')`);
    await pg.query('BEGIN');
    await pg.query(`INSERT INTO public.${tableA} (id, name) VALUES (41, 'a')`);
    await pg.query(`UPDATE public.${tableB} SET note = 'changed' WHERE id = 40`);
    await pg.query('COMMIT');
    // Read before streaming (a slot serves one session at a time): the stream gives the same.
    const read = await readAtLeast(driver(), capture, 3);

    let stream = await driver().streamChanges(capture);
    try {
      // At most 2 changes a batch: the second batch ends inside the second transaction.
      const cut = await stream.next({ limit: 2, signal: AbortSignal.timeout(EVENTUALLY_MS) });
      const firstBatch = cut.changes.length === 2 ? cut : null;
      if (firstBatch) {
        assert.equal(firstBatch.complete, false, 'a batch ending inside a transaction is not complete');
        assert.ok(firstBatch.position, 'the first transaction ended within it');
      }
      await stream.close();
      stream = await driver().streamChanges(capture);
      const first = await streamAtLeast(stream, 3);
      assert.equal(first.complete, true);
      assert.deepEqual(first.changes, read.changes, 'the same changes, byte for byte, as readChanges');
      assert.equal(first.position, read.lastLsn, 'and the same position');
      // A second session on the slot is refused while this one streams.
      await assertDriverError(() => driver().streamChanges(capture), 'Unavailable', 'a second stream', capture.slot);
    } finally {
      await stream.close();
    }

    // Not confirmed: a new stream starts before them again (at least once).
    stream = await driver().streamChanges(capture);
    try {
      const again = await streamAtLeast(stream, 3);
      assert.deepEqual(summary(again.changes), summary(read.changes));
      // Confirmed (a standby status update): the slot moves there.
      stream.confirm(again.position);
      assert.equal(stream.confirmed, again.position);
      const deadline = Date.now() + EVENTUALLY_MS;
      for (;;) {
        const slot = await pg.query<{ done: boolean }>(
          'SELECT confirmed_flush_lsn >= $2::pg_lsn AS done FROM pg_replication_slots WHERE slot_name = $1',
          [capture.slot, again.position],
        );
        if (slot.rows[0]?.done) break;
        assert.ok(Date.now() < deadline, 'the slot moves to the confirmed position');
        await new Promise((r) => setTimeout(r, 100));
      }
      // Changes committed while streaming arrive without asking again.
      await pg.query(`DELETE FROM public.${tableA} WHERE id = 41`);
      const live = await streamAtLeast(stream, 1);
      assert.deepEqual(summary(live.changes), [`d ${tableA} {"id":41} #1`]);
    } finally {
      await stream.close();
    }

    // A new stream starts after the confirmed position: only the delete is left.
    stream = await driver().streamChanges(capture);
    try {
      const rest = await streamAtLeast(stream, 1);
      assert.deepEqual(summary(rest.changes), [`d ${tableA} {"id":41} #1`]);
      stream.confirm(rest.position);
    } finally {
      await stream.close();
    }
    await assertNothingPending(driver(), capture, 'after the stream confirmed everything');
  });

  it('refuses to stream a bad or missing slot with typed errors', async () => {
    await assertDriverError(
      () => driver().streamChanges({ slot: 'Bad-Slot', publication: 'p' }),
      'InvalidArgument',
      'a bad slot name',
    );
    const missing = `prism_test_missing_${suffix()}`;
    await assertDriverError(
      () => driver().streamChanges({ slot: missing, publication: 'p' }),
      'NotFound',
      'a missing slot',
      missing,
    );
  });

  it('rejects bad input with typed errors', async () => {
    const capture = { slot: `prism_test_bad_${suffix()}`, publication: `prism_test_bad_pub_${suffix()}` };
    captures.push(capture);
    const missing = `cdc_missing_${suffix()}`;
    await assertDriverError(
      () => driver().ensureCapture({ ...capture, tables: [`public.${tableA}`, `public.${missing}`] }),
      'NotFound',
      'a missing table',
      missing,
    );
    await assertDriverError(
      () => driver().readChanges({ ...capture }),
      'NotFound',
      'reading a slot that does not exist',
      capture.slot,
    );
    await assertDriverError(
      () => driver().confirm({ slot: capture.slot, lsn: '0/1' }),
      'NotFound',
      'confirming on a slot that does not exist',
    );
    await assertDriverError(
      () => driver().ensureCapture({ ...capture, slot: 'Not-A-Slot', tables: [`public.${tableA}`] }),
      'InvalidArgument',
      'an invalid slot name',
    );
    await assertDriverError(() => driver().ensureCapture({ ...capture, tables: [] }), 'InvalidArgument', 'no tables');
    await assertDriverError(
      () => driver().confirm({ slot: capture.slot, lsn: 'not a position' }),
      'InvalidArgument',
      'a malformed position',
    );
    await assertDriverError(() => driver().readChanges({ ...capture, limit: 0 }), 'InvalidArgument', 'limit 0');
    // Nothing was created by the failed calls; dropping is idempotent.
    await driver().dropCapture(capture);
    await driver().dropCapture(capture);
  });

  it('reports the database and how far the slot is behind', async () => {
    const capture = await newCapture();
    const database = (await pg.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
    const idle = await driver().captureStatus({ slot: capture.slot });
    assert.equal(idle.database, database);
    assert.equal(typeof idle.lagBytes, 'number');
    await pg.query(`INSERT INTO public.${tableB} SELECT g, repeat('x', 1000) FROM generate_series(900001, 900100) g`);
    const behind = await driver().captureStatus({ slot: capture.slot });
    assert.ok(behind.lagBytes! > idle.lagBytes! + 100_000, `the slot holds the new WAL (${behind.lagBytes} bytes)`);
    const { lastLsn } = await readAtLeast(driver(), capture, 100, 1000);
    await driver().confirm({ slot: capture.slot, lsn: lastLsn! });
    const caughtUp = await driver().captureStatus({ slot: capture.slot });
    assert.ok(caughtUp.lagBytes! < behind.lagBytes!, 'confirming frees it');
    assert.equal((await driver().captureStatus({ slot: `prism_test_none_${suffix()}` })).lagBytes, null);
  });

  it('reports a role that may not replicate as Permission', async () => {
    const entry = DRIVERS.find((d) => d.name === name);
    assert.ok(entry, `driver ${name} is in the harness`);
    const id = suffix();
    const role = `prism_test_norepl_${id}`;
    const table = `cdc_owned_${id}`;
    const schema = `prism_test_norepl_${id}`;
    const capture = { slot: `prism_test_norepl_${id}`, publication: `prism_test_norepl_pub_${id}` };
    const database = (await pg.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
    await pg.query(`CREATE ROLE ${role} LOGIN PASSWORD 'norepl' NOSUPERUSER NOREPLICATION`);
    let other: Awaited<ReturnType<typeof entry.factory.create>> | undefined;
    try {
      // Everything but replication: it owns the table and may create schemas and publications.
      await pg.query(`GRANT CREATE ON DATABASE "${database}" TO ${role}`);
      await pg.query(`CREATE TABLE public.${table} (id int PRIMARY KEY)`);
      await pg.query(`ALTER TABLE public.${table} OWNER TO ${role}`);
      const url = new URL(stackEnv.postgresUrl);
      url.username = role;
      url.password = 'norepl';
      const config = entry.factory.configSchema.parse({ ...entry.config(), url: url.toString(), schema });
      other = await entry.factory.create(config, { backend: 'conformance-norepl' });
      const cdc = other as Cdc;
      await assertDriverError(
        () => cdc.ensureCapture({ ...capture, tables: [`public.${table}`] }),
        'Permission',
        'ensureCapture without replication rights',
      );
    } finally {
      await other?.close();
      await pg.query(`DROP PUBLICATION IF EXISTS ${capture.publication}`).catch(() => undefined);
      await pg.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
      await pg.query(`DROP TABLE IF EXISTS public.${table}`).catch(() => undefined);
      await pg.query(`REVOKE CREATE ON DATABASE "${database}" FROM ${role}`).catch(() => undefined);
      await pg.query(`DROP OWNED BY ${role}`).catch(() => undefined);
      await pg.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    }
  });
});

// TRUNCATE has no rows: it is one change per truncated table, in its place among the row changes,
// and a publication that would not carry it is refused rather than losing truncates silently.
forEachDriverWith('cdc_source', (driver) => {
  const pg = new Client({ connectionString: stackEnv.postgresUrl });
  const tag = suffix();
  const tableA = `cdc_trunc_a_${tag}`;
  const tableB = `cdc_trunc_b_${tag}`;
  const captures: { slot: string; publication: string }[] = [];

  before(async () => {
    await pg.connect();
    await pg.query(`CREATE TABLE public.${tableA} (id int PRIMARY KEY, note text)`);
    await pg.query(`CREATE TABLE public.${tableB} (id int PRIMARY KEY, note text)`);
  });

  after(async () => {
    await cleanUp(pg, captures, [tableA, tableB]);
  });

  const newCapture = (): { slot: string; publication: string } => {
    const id = suffix();
    const capture = { slot: `prism_test_t_${id}`, publication: `prism_test_t_pub_${id}` };
    captures.push(capture);
    return capture;
  };

  it('reports a truncate per truncated table, in order with the rows around it', async () => {
    const capture = newCapture();
    await driver().ensureCapture({ ...capture, tables: [`public.${tableA}`, `public.${tableB}`] });
    await pg.query(`INSERT INTO public.${tableA} VALUES (1, 'before')`);
    await pg.query(`TRUNCATE public.${tableA}`);
    await pg.query(`INSERT INTO public.${tableA} VALUES (2, 'after')`);
    // One statement over both tables, inside a transaction with a row before and after it.
    await pg.query('BEGIN');
    await pg.query(`INSERT INTO public.${tableB} VALUES (10, 'doomed')`);
    await pg.query(`TRUNCATE public.${tableA}, public.${tableB}`);
    await pg.query(`INSERT INTO public.${tableB} VALUES (11, 'kept')`);
    await pg.query('COMMIT');

    const { changes, lastLsn } = await readAtLeast(driver(), capture, 7);
    const truncates = changes.filter((c) => c.op === 't');
    assert.deepEqual(summary(changes), [
      `c ${tableA} {"id":1} #1`,
      `t ${tableA} {} #1`,
      `c ${tableA} {"id":2} #1`,
      `c ${tableB} {"id":10} #1`,
      ...truncates.slice(1).map((t, i) => `t ${t.table} {} #${i + 2}`),
      `c ${tableB} {"id":11} #4`,
    ]);
    assert.deepEqual(
      truncates
        .slice(1)
        .map((t) => t.table)
        .sort(),
      [tableA, tableB].sort(),
      'one per table',
    );
    for (const t of truncates) {
      assert.equal(t.schema, 'public');
      assert.equal(t.before, null);
      assert.equal(t.after, null);
      assert.deepEqual(t.key, {});
      assert.ok(!Number.isNaN(Date.parse(t.commitTime)));
    }
    assert.ok(lsnValue(changes[1]!.lsn) > lsnValue(changes[0]!.lsn), 'the truncate commits after the row before it');
    assert.ok(lsnValue(changes[2]!.lsn) > lsnValue(changes[1]!.lsn), 'and before the row after it');
    assert.equal(truncates[1]!.txId, changes[3]!.txId, 'the second truncate is in its transaction');

    // A limit may cut between the tables of one TRUNCATE; the rest comes after the confirm.
    const head = await driver().readChanges({ ...capture, limit: 5 });
    assert.deepEqual(summary(head.changes), summary(changes.slice(0, 5)));
    assert.ok(head.lastLsn?.includes('#'), `a position inside the transaction: ${head.lastLsn}`);
    await driver().confirm({ slot: capture.slot, lsn: head.lastLsn! });
    const tail = await driver().readChanges({ ...capture });
    assert.deepEqual(summary(tail.changes), summary(changes.slice(5)));
    assert.equal(tail.lastLsn, lastLsn);
    await driver().confirm({ slot: capture.slot, lsn: tail.lastLsn! });
    await assertNothingPending(driver(), capture, 'after confirming the truncates');
  });

  it('refuses a publication that does not publish truncates', async () => {
    const capture = newCapture();
    await pg.query(
      `CREATE PUBLICATION ${capture.publication} FOR TABLE public.${tableA} WITH (publish = 'insert, update, delete')`,
    );
    await assertDriverError(
      () => driver().ensureCapture({ ...capture, tables: [`public.${tableA}`] }),
      'Conflict',
      'a publication without truncates',
      capture.publication,
    );
  });
});
