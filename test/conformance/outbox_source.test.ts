// outbox_source: a transactional outbox table read oldest first, skipping batches still in
// flight without passing by a row committed late, marked published once, and its backlog (count
// and oldest row) reported. Each case uses a table of its own in the shared Postgres.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Client } from 'pg';
import { stackEnv, uniqueName } from '../helpers/env';
import { forEachDriverWith } from './harness';
import { assertDriverError } from './support';

forEachDriverWith('outbox_source', (driver) => {
  const pg = new Client({ connectionString: stackEnv.postgresUrl });
  const tables: string[] = [];

  before(async () => {
    await pg.connect();
  });

  after(async () => {
    for (const t of tables) await pg.query(`DROP TABLE IF EXISTS public.${t}`).catch(() => undefined);
    await pg.end();
  });

  async function outboxTable(): Promise<string> {
    const table = uniqueName('outbox')
      .replace(/[^a-z0-9_]/gi, '_')
      .toLowerCase();
    tables.push(table);
    await pg.query(`CREATE TABLE public.${table} (
      id bigserial PRIMARY KEY, aggregate_type text NOT NULL, aggregate_id text NOT NULL,
      event_type text NOT NULL, payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      published_at timestamptz)`);
    return table;
  }

  const insert = (c: Client, table: string, aggregateId: string, createdAt?: string) =>
    c.query(
      `INSERT INTO public.${table} (aggregate_type, aggregate_id, event_type, payload, created_at)
       VALUES ('order', $1, 'E', $2, coalesce($3::timestamptz, clock_timestamp()))`,
      [aggregateId, JSON.stringify({ of: aggregateId }), createdAt ?? null],
    );

  it('checks the table: missing, or lacking columns, each named', async () => {
    await assertDriverError(
      () => driver().checkOutbox({ table: 'public.no_such_outbox_table' }),
      'NotFound',
      'a missing table',
    );
    const table = await outboxTable();
    await driver().checkOutbox({ table: `public.${table}` });
    await driver().checkOutbox({ table });
    await pg.query(`ALTER TABLE public.${table} DROP COLUMN published_at, DROP COLUMN event_type`);
    await assert.rejects(driver().checkOutbox({ table: `public.${table}` }), (err: Error) => {
      assert.match(err.message, /lacks columns event_type, published_at/);
      return true;
    });
  });

  it('polls oldest first, skips the batches in flight but finds a row committed late', async () => {
    const table = await outboxTable();
    const name = `public.${table}`;
    const late = new Client({ connectionString: stackEnv.postgresUrl });
    await late.connect();
    try {
      await late.query('BEGIN');
      await insert(late, table, 'late');
      await insert(pg, table, 'x-1');
      await insert(pg, table, 'x-2');
      const first = await driver().pollOutbox({ table: name, limit: 10 });
      assert.deepEqual(
        first.map((r) => r.aggregateId),
        ['x-1', 'x-2'],
      );
      assert.deepEqual(first[0]!.payload, { of: 'x-1' });
      assert.equal(first[0]!.eventType, 'E');
      assert.equal(first[0]!.aggregateType, 'order');
      const inFlight = { from: first[0]!.position, to: first.at(-1)!.position };
      assert.deepEqual(
        await driver().pollOutbox({ table: name, limit: 10, skip: [inFlight] }),
        [],
        'the batch in flight is not read again',
      );
      await late.query('COMMIT');
      // Its id and created_at come before the batch in flight: a cursor after x-2 would pass it by.
      const next = await driver().pollOutbox({ table: name, limit: 10, skip: [inFlight] });
      assert.deepEqual(
        next.map((r) => r.aggregateId),
        ['late'],
      );
      assert.ok(BigInt(next[0]!.id) < BigInt(first[0]!.id));
      const ids = [...first, ...next].map((r) => r.id);
      assert.equal(await driver().markPublished({ table: name, ids }), 3);
      assert.equal(await driver().markPublished({ table: name, ids }), 0, 'already published');
      assert.deepEqual(await driver().pollOutbox({ table: name, limit: 10 }), []);
    } finally {
      await late.end();
    }
  });

  it('reports the backlog: unpublished rows and the oldest one', async () => {
    const table = await outboxTable();
    const name = `public.${table}`;
    assert.deepEqual(await driver().outboxLag({ table: name }), { unpublished: 0, oldestUnpublishedAt: null });
    await insert(pg, table, 'a', '2026-01-02T03:04:05.678Z');
    await insert(pg, table, 'b');
    await insert(pg, table, 'c');
    assert.deepEqual(await driver().outboxLag({ table: name }), {
      unpublished: 3,
      oldestUnpublishedAt: '2026-01-02T03:04:05.678Z',
    });
    const [oldest] = await driver().pollOutbox({ table: name, limit: 1 });
    await driver().markPublished({ table: name, ids: [oldest!.id] });
    const lag = await driver().outboxLag({ table: name });
    assert.equal(lag.unpublished, 2);
    assert.ok(lag.oldestUnpublishedAt! > '2026-01-02T03:04:05.678Z', 'the oldest left is a later row');
  });

  it('refuses bad input', async () => {
    const table = `public.${await outboxTable()}`;
    await assertDriverError(() => driver().pollOutbox({ table, limit: 0 }), 'InvalidArgument', 'limit 0');
    await assertDriverError(() => driver().pollOutbox({ table: '', limit: 1 }), 'InvalidArgument', 'no table');
    await assertDriverError(
      () => driver().markPublished({ table, ids: [1 as unknown as string] }),
      'InvalidArgument',
      'ids that are not strings',
    );
  });
});
