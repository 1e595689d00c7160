// Initial snapshot + stream: rows preloaded before the pipeline starts arrive as 'r' events, and
// inserts, updates and deletes written while the snapshot is taken and delivered arrive as changes.
// A separate Kafka consumer checks that per key the events chain (each change's `before` is the
// previous event's `after`: nothing missed, nothing doubled) and that they rebuild the table.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Pool, type Client } from 'pg';
import { SnapshotStore } from '../../../src/drivers/postgres/cdc-snapshot';
import { PrismClient, type Started } from '../../../src/client/prism-client';
import type { CdcEvent } from '../../../src/workflows/cdc/events';
import { CdcTestConsumer } from '../../helpers/cdc-kafka';
import { stackEnv, uniqueName } from '../../helpers/env';
import { startWorker, waitFor, type WorkerProcess } from '../../helpers/worker-process';
import { cdcName, cdcWorkerConfig, dropCapture, pgClient, slotExists } from './setup';
import { pipelineStatus } from '../../../src/client/cdc';

const PRELOAD = 1000;

interface Row {
  id: number;
  v: number;
}

/** Per key, the events in order (duplicates by id dropped). */
function eventsByKey(consumer: CdcTestConsumer): Map<number, CdcEvent[]> {
  const seen = new Set<string>();
  const byKey = new Map<number, CdcEvent[]>();
  for (const r of consumer.records) {
    if (seen.has(r.id)) continue;
    seen.add(r.id);
    const e = r.body as unknown as CdcEvent;
    const id = (e.key as { id: number }).id;
    byKey.set(id, [...(byKey.get(id) ?? []), e]);
  }
  return byKey;
}

/** The table as the events rebuild it. */
function rebuilt(byKey: Map<number, CdcEvent[]>): Map<number, number> {
  const state = new Map<number, number>();
  for (const [id, events] of byKey) {
    const last = events.at(-1)!;
    if (last.op === 'd') state.delete(id);
    else state.set(id, (last.after as unknown as Row).v);
  }
  return state;
}

/**
 * The consumer's events against the table: per key either one 'r' or a 'c' first, each change's
 * `before` equal to the previous event's `after`, duplicates identical, and the table rebuilt.
 */
async function checkConsistent(
  consumer: CdcTestConsumer,
  pg: Client,
  table: string,
  snapshotRowCount: number,
): Promise<{ changedAfterSnapshot: number; insertedAfter: number }> {
  const table_ = await pg.query<Row>(`SELECT id, v FROM ${table}`);
  const expected = new Map(table_.rows.map((r) => [r.id, r.v]));
  await waitFor(
    'the consumer to rebuild the table',
    async () => {
      const state = rebuilt(eventsByKey(consumer));
      return state.size === expected.size && [...expected].every(([id, v]) => state.get(id) === v);
    },
    90_000,
  ).catch((err: Error) => {
    const state = rebuilt(eventsByKey(consumer));
    const wrong = [...expected].filter(([id, v]) => state.get(id) !== v).slice(0, 5);
    throw new Error(`${err.message}: ${state.size} rows rebuilt, ${expected.size} in the table; e.g. ${wrong}`);
  });

  const byKey = eventsByKey(consumer);
  let snapshotRows = 0;
  let changedAfterSnapshot = 0;
  let insertedAfter = 0;
  for (const [id, events] of byKey) {
    const ops = events.map((e) => e.op).join('');
    // Never a row both in the snapshot and inserted by the stream, never two snapshot rows.
    assert.match(ops, /^(r[ud]*|c[ud]*)$/, `key ${id}: ${ops}`);
    assert.ok(!/d./.test(ops), `key ${id}: nothing after a delete (${ops})`);
    if (ops[0] === 'r') snapshotRows++;
    if (ops[0] === 'r' && ops.length > 1) changedAfterSnapshot++;
    if (ops[0] === 'c') {
      insertedAfter++;
      assert.ok(id > PRELOAD, `key ${id} existed before the snapshot, so it must come as 'r'`);
    }
    // Each change starts from the state the previous event left: nothing missed or doubled.
    for (let i = 1; i < events.length; i++) {
      assert.deepEqual(events[i]!.before, events[i - 1]!.after, `key ${id}: event ${i} of ${ops}`);
    }
  }
  const rEvents = consumer.records.filter((r) => (r.body as { op?: string }).op === 'r');
  assert.equal(snapshotRows, snapshotRowCount, 'one distinct snapshot row per staged row');
  assert.ok(
    rEvents.every((r) => r.id.includes(':r:public.')),
    'snapshot ids name the snapshot LSN, table and key',
  );
  assert.ok(changedAfterSnapshot > 0 && insertedAfter > 0, 'the stream carried writes made after the snapshot');
  const bodies = new Map<string, string>();
  for (const r of consumer.records) {
    const b = JSON.stringify(r.body);
    assert.equal(bodies.get(r.id) ?? b, b, `duplicate ${r.id} is the same event`);
    bodies.set(r.id, b);
  }
  return { changedAfterSnapshot, insertedAfter };
}

/** Inserts, updates and deletes, one per transaction, until stopped; counts those made while flagged. */
class Writer {
  whileFlagged = 0;
  private writing = true;
  private readonly done: Promise<void>;

  constructor(pg: Client, table: string, flagged: () => boolean) {
    this.done = (async () => {
      let n = 0;
      let nextId = PRELOAD + 1;
      while (this.writing) {
        n++;
        const id = 1 + ((n * 7919) % PRELOAD);
        if (n % 3 === 0) await pg.query(`INSERT INTO ${table} VALUES ($1, 0)`, [nextId++]);
        else if (n % 7 === 0) await pg.query(`DELETE FROM ${table} WHERE id = $1`, [id]);
        else await pg.query(`UPDATE ${table} SET v = v + 1 WHERE id = $1`, [id]);
        if (flagged()) this.whileFlagged++;
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
  }

  stop(): Promise<void> {
    this.writing = false;
    return this.done;
  }
}

describe('cdc: initial snapshot while writes go on', () => {
  const taskQueue = uniqueName('cdc-snap');
  const pipeline = cdcName('snap');
  const table = `cdc_snap_${pipeline}`;
  let worker: WorkerProcess;
  let client: PrismClient;
  let pg: Client;
  let writerPg: Client;
  let run: Started | undefined;
  const consumer = new CdcTestConsumer();

  before(async () => {
    pg = await pgClient();
    writerPg = await pgClient();
    await pg.query(`CREATE TABLE public.${table} (id int PRIMARY KEY, v int NOT NULL)`);
    await pg.query(`INSERT INTO public.${table} SELECT x, 0 FROM generate_series(1, $1) AS x`, [PRELOAD]);
    await consumer.start([`${pipeline}.public.${table}`]);
    worker = await startWorker(cdcWorkerConfig(taskQueue));
    client = await PrismClient.connect({ taskQueue });
  });

  after(async () => {
    await run?.handle.terminate('test cleanup').catch(() => undefined);
    await consumer.stop();
    await client?.close();
    await worker?.stop();
    await dropCapture(pg, pipeline);
    await pg.query(`DELETE FROM prism_store.cdc_snapshots WHERE slot = $1`, [`prism_cdc_${pipeline}`]);
    await pg.query(`DROP TABLE IF EXISTS public.${table}`);
    await pg.end();
    await writerPg.end();
  });

  it('delivers each row once as a snapshot row or through its later changes, and rebuilds the table', async () => {
    // Writes run from before the start until after the snapshot is delivered.
    let snapshotState: string | undefined;
    const writer = new Writer(writerPg, table, () => snapshotState === 'delivering');
    await new Promise((r) => setTimeout(r, 300));

    run = await client.start(
      'cdcPipelineWorkflow',
      [{ pipeline, tables: [`public.${table}`], snapshot: 'initial', snapshotChunkSize: 25 }],
      { pattern: 'cdc' },
    );
    const handle = run.handle;
    const seenStates = new Set<string>();
    const done = await waitFor(
      'the snapshot to be delivered',
      async () => {
        const s = await pipelineStatus(handle).catch(() => null);
        snapshotState = s?.snapshot?.state;
        if (snapshotState) seenStates.add(snapshotState);
        return s?.snapshot?.state === 'done' ? s : null;
      },
      120_000,
    );
    await new Promise((r) => setTimeout(r, 500));
    await writer.stop();
    const writesWhileDelivering = writer.whileFlagged;
    assert.ok(seenStates.has('delivering'), `snapshot progress seen in status: ${[...seenStates].join(', ')}`);
    assert.ok(writesWhileDelivering > 20, `writes overlapped the snapshot (${writesWhileDelivering})`);
    assert.ok(done.snapshot!.rows > 0 && done.snapshot!.rowsDone === done.snapshot!.rows, JSON.stringify(done));

    const { changedAfterSnapshot, insertedAfter } = await checkConsistent(consumer, pg, table, done.snapshot!.rows);
    // Drop forgets the snapshot with the slot: a new pipeline of the same name would take one again.
    await handle.executeUpdate('control', { args: ['drop'] });
    await handle.result();
    assert.equal(await slotExists(pg, pipeline), false, 'slot dropped');
    const marker = await pg.query('SELECT 1 FROM prism_store.cdc_snapshots WHERE slot = $1', [`prism_cdc_${pipeline}`]);
    assert.equal(marker.rowCount, 0, 'snapshot forgotten');
    process.stdout.write(
      `# ${done.snapshot!.rows} snapshot rows, ${changedAfterSnapshot} changed after it, ${insertedAfter} inserted after it, ` +
        `${writesWhileDelivering} writes while delivering, ${consumer.records.length - consumer.distinctIds()} duplicates\n`,
    );
  });
});

describe('cdc: initial snapshot after a copy that died half-way, and a worker SIGKILLed while delivering it', () => {
  const taskQueue = uniqueName('cdc-snapkill');
  const pipeline = cdcName('snapkill');
  const slot = `prism_cdc_${pipeline}`;
  const table = `cdc_snap_${pipeline}`;
  const config = cdcWorkerConfig(taskQueue, { heartbeatTimeout: '4s' });
  const workers: WorkerProcess[] = [];
  let client: PrismClient;
  let pg: Client;
  let writerPg: Client;
  let pool: Pool;
  let run: Started | undefined;
  const consumer = new CdcTestConsumer();

  before(async () => {
    pg = await pgClient();
    writerPg = await pgClient();
    pool = new Pool({ connectionString: stackEnv.postgresUrl, max: 2 });
    await pg.query(`CREATE TABLE public.${table} (id int PRIMARY KEY, v int NOT NULL)`);
    await pg.query(`INSERT INTO public.${table} SELECT x, 0 FROM generate_series(1, $1) AS x`, [PRELOAD]);
    // What a prepare that died while copying leaves: a pending snapshot and its slot.
    await new SnapshotStore(pool, 'prism_store').begin(slot);
    await pg.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    await consumer.start([`${pipeline}.public.${table}`]);
    workers.push(await startWorker(config));
    client = await PrismClient.connect({ taskQueue });
  });

  after(async () => {
    await run?.handle.terminate('test cleanup').catch(() => undefined);
    await consumer.stop();
    await client?.close();
    for (const w of workers) await w.stop('SIGKILL');
    await dropCapture(pg, pipeline);
    await new SnapshotStore(pool, 'prism_store').forget(slot);
    await pg.query(`DROP TABLE IF EXISTS public.${table}`);
    await pg.end();
    await writerPg.end();
    await pool.end();
  });

  it('takes the snapshot anew and loses nothing across the kill (repeats carry the same ids)', async () => {
    const leftover = await pg.query<{ lsn: string }>(
      'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
      [slot],
    );
    let snapshotState: string | undefined;
    const writer = new Writer(writerPg, table, () => snapshotState === 'delivering');
    run = await client.start(
      'cdcPipelineWorkflow',
      [{ pipeline, tables: [`public.${table}`], snapshot: 'initial', snapshotChunkSize: 20 }],
      { pattern: 'cdc' },
    );
    const handle = run.handle;
    const midway = await waitFor(
      'the snapshot to be half delivered',
      async () => {
        const s = await pipelineStatus(handle).catch(() => null);
        snapshotState = s?.snapshot?.state;
        return s?.snapshot && s.snapshot.rowsDone > 300 ? s : null;
      },
      120_000,
    );
    await workers[0]!.stop('SIGKILL');
    workers.push(await startWorker(config));
    const done = await waitFor(
      'the snapshot to be delivered',
      async () => {
        const s = await pipelineStatus(handle).catch(() => null);
        snapshotState = s?.snapshot?.state;
        return s?.snapshot?.state === 'done' ? s : null;
      },
      120_000,
    );
    await new Promise((r) => setTimeout(r, 500));
    await writer.stop();
    assert.ok(writer.whileFlagged > 20, `writes overlapped the snapshot (${writer.whileFlagged})`);
    assert.notEqual(done.snapshot!.lsn, leftover.rows[0]!.lsn, 'the half-made slot was replaced');
    await checkConsistent(consumer, pg, table, done.snapshot!.rows);
    process.stdout.write(
      `# killed at ${midway.snapshot!.rowsDone}/${midway.snapshot!.rows} snapshot rows; ` +
        `${consumer.records.length - consumer.distinctIds()} duplicates (same ids and bodies)\n`,
    );
  });
});
