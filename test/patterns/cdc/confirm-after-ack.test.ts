// The streaming pump confirms a position to Postgres only after the sink acknowledged every event
// before it: with the sink's Kafka stopped, changes committed meanwhile are streamed but not
// delivered, so the slot's confirmed_flush_lsn stays before them; with Kafka back, every change
// arrives (each once, after de-duplication by event id) and only then does the slot move past them.
// The Kafka is a private one (own ports and folder, the main stack's jars).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from 'pg';
import { PrismClient, type Started } from '../../../src/client/prism-client';
import { CdcTestConsumer } from '../../helpers/cdc-kafka';
import { uniqueName } from '../../helpers/env';
import { ExtraService } from '../../helpers/extra-service';
import { startWorker, waitFor, type WorkerProcess } from '../../helpers/worker-process';
import { cdcName, cdcWorkerConfig, dropCapture, pgClient, within } from './setup';
import { pipelineStatus } from '../../../src/client/cdc';

const BEFORE_OUTAGE = 20;
const DURING_OUTAGE = 30;

describe('cdc: a position is confirmed only after the sink acknowledged it', () => {
  const kafkaPort = Number(process.env.PRISM_TEST_CDC_ACK_KAFKA_PORT ?? 16650);
  const kafka = new ExtraService('kafka', 'cdc-confirm-after-ack', { port: kafkaPort, secondPort: kafkaPort + 1 });
  const brokers = [kafka.url];
  const taskQueue = uniqueName('cdc-ack');
  const pipeline = cdcName('ack');
  const slot = `prism_cdc_${pipeline}`;
  const table = `cdc_ack_${pipeline}`;
  const topic = `${pipeline}.public.${table}`;
  let worker: WorkerProcess | undefined;
  let client: PrismClient | undefined;
  let pg: Client;
  let run: Started | undefined;
  let consumer = new CdcTestConsumer(brokers);

  /** Whether a <= b, as Postgres compares LSNs. */
  const lsnAtMost = async (a: string, b: string): Promise<boolean> =>
    (await pg.query<{ ok: boolean }>('SELECT $1::pg_lsn <= $2::pg_lsn AS ok', [a, b])).rows[0]!.ok;
  const confirmedFlush = async (): Promise<string> =>
    (
      await pg.query<{ lsn: string }>(
        'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
        [slot],
      )
    ).rows[0]!.lsn;
  const currentLsn = async (): Promise<string> =>
    (await pg.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn;
  /** Rows first..last, five per transaction. */
  const insert = async (first: number, last: number): Promise<void> => {
    for (let i = first; i <= last; i += 5) {
      const ids = Array.from({ length: Math.min(5, last - i + 1) }, (_, k) => i + k);
      await pg.query(`INSERT INTO public.${table} SELECT x, 'row ' || x FROM unnest($1::int[]) AS x`, [ids]);
    }
  };

  before(async () => {
    kafka.up();
    pg = await pgClient();
    await pg.query(`CREATE TABLE public.${table} (id int PRIMARY KEY, note text)`);
    await within(60_000, 'the test consumer to start', consumer.start([topic]));
    worker = await startWorker(
      cdcWorkerConfig(taskQueue, {
        extraBackends: {
          kafka: {
            driver: 'kafka',
            config: { brokers, retries: 1, connectionTimeoutMs: 1_000, requestTimeoutMs: 3_000 },
            circuit_breaker: { max_failures: 2, reset_timeout: '2s' },
          },
        },
      }),
    );
    client = await PrismClient.connect({ taskQueue });
  });

  after(async () => {
    if (run) await within(30_000, 'terminating the pipeline', run.handle.terminate('test cleanup')).catch(() => null);
    await within(15_000, 'stopping the consumer', consumer.stop()).catch(() => undefined);
    await client?.close();
    if (worker) await within(30_000, 'stopping the worker', worker.stop()).catch(() => worker?.stop('SIGKILL'));
    await dropCapture(pg, pipeline);
    await pg.query(`DROP TABLE IF EXISTS public.${table}`);
    await pg.end();
    kafka.down();
  });

  it('holds the slot while Kafka is down and moves it once everything arrived', async () => {
    run = await client!.start('cdcPipelineWorkflow', [{ pipeline, tables: [`public.${table}`] }], {
      pattern: 'cdc',
    });
    const handle = run.handle;
    await waitFor('running', async () => (await pipelineStatus(handle).catch(() => null))?.state === 'running');

    // Delivered and acknowledged: the slot moves past them.
    await insert(1, BEFORE_OUTAGE);
    const afterFirst = await currentLsn();
    await consumer.waitForCount(BEFORE_OUTAGE, 60_000);
    await waitFor('the slot confirmed past the first rows', async () =>
      (await lsnAtMost(afterFirst, await confirmedFlush())) ? true : null,
    );

    // Kafka down: the changes are streamed, the sink refuses them, the slot stays before them.
    await within(15_000, 'stopping the consumer before the outage', consumer.stop());
    await kafka.stopAsync();
    const beforeOutageWrites = await currentLsn();
    await insert(BEFORE_OUTAGE + 1, BEFORE_OUTAGE + DURING_OUTAGE);
    const afterAll = await currentLsn();
    await waitFor('the Kafka backend breaker open', async () => {
      const body = (await (await fetch(`http://127.0.0.1:${worker!.httpPort}/health`)).json()) as {
        openBreakers: string[];
      };
      return body.openBreakers.includes('kafka') ? true : null;
    });
    // Let the pump try (and fail) a few more times before looking.
    await new Promise((r) => setTimeout(r, 5_000));
    const during = await confirmedFlush();
    assert.ok(
      await lsnAtMost(during, beforeOutageWrites),
      `confirmed_flush_lsn ${during} must stay at or before ${beforeOutageWrites} while the sink is down`,
    );
    const status = await pipelineStatus(handle);
    assert.ok(status.totals.eventsDelivered < BEFORE_OUTAGE + DURING_OUTAGE, 'nothing counted as delivered');

    // Kafka back: everything arrives, each change once by id, and then the slot moves.
    await kafka.startAsync();
    consumer = new CdcTestConsumer(brokers);
    await within(60_000, 'the test consumer to start again', consumer.start([topic]));
    const total = BEFORE_OUTAGE + DURING_OUTAGE;
    await consumer.waitForCount(total, 120_000);
    const bodies = new Map<string, string>();
    for (const r of consumer.records) {
      const body = JSON.stringify(r.body);
      assert.equal(bodies.get(r.id) ?? body, body, `event ${r.id} delivered twice with different bodies`);
      bodies.set(r.id, body);
    }
    const rows = [...bodies.values()].map((b) => (JSON.parse(b) as { after: { id: number } }).after.id);
    assert.deepEqual(
      rows.sort((a, b) => a - b),
      Array.from({ length: total }, (_, i) => i + 1),
      'every row once after de-duplication by event id',
    );
    await waitFor('the slot confirmed past every row', async () =>
      (await lsnAtMost(afterAll, await confirmedFlush())) ? true : null,
    );
    process.stdout.write(
      `# ${consumer.records.length} records for ${total} changes; slot during the outage ${during}, before it ${beforeOutageWrites}\n`,
    );
  });
});
