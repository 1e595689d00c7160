// Kafka stopped for 10 s under a steady write load, then started again: nothing is lost (the
// deliver activity retries; the source position waits), and the pipeline catches up by itself.
// Delivery goes through the sink backend's guard, so the outage opens the Kafka backend's breaker
// (on /health) and leaves the Postgres backend's closed; Postgres holds at most the one slot of a
// pump round probing whether Kafka is back (while Kafka's breaker is open, no round starts).
// The Kafka is a private one (own ports and folder, the main stack's jars), so the test runs by
// default without disturbing anyone; every wait has a deadline, so a failure fails fast.
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

const OUTAGE_MS = 10_000;

describe('cdc: Kafka outage', () => {
  const kafkaPort = Number(process.env.PRISM_TEST_CDC_KAFKA_PORT ?? 59092);
  const kafka = new ExtraService('kafka', 'cdc-kafka-outage', { port: kafkaPort, secondPort: kafkaPort + 1 });
  const brokers = [kafka.url];
  const taskQueue = uniqueName('cdc-outage');
  const pipeline = cdcName('outage');
  const table = `cdc_steady_${pipeline}`;
  const topic = `${pipeline}.public.${table}`;
  let worker: WorkerProcess | undefined;
  let client: PrismClient | undefined;
  let pg: Client;
  let run: Started | undefined;
  let consumer = new CdcTestConsumer(brokers);
  let writing = false;

  before(async () => {
    kafka.up();
    pg = await pgClient();
    await pg.query(`CREATE TABLE public.${table} (id int PRIMARY KEY, at timestamptz)`);
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
    writing = false;
    if (run) await within(30_000, 'terminating the pipeline', run.handle.terminate('test cleanup')).catch(() => null);
    await within(15_000, 'stopping the consumer', consumer.stop()).catch(() => undefined);
    await client?.close();
    if (worker) await within(30_000, 'stopping the worker', worker.stop()).catch(() => worker?.stop('SIGKILL'));
    await dropCapture(pg, pipeline);
    await pg.query(`DROP TABLE IF EXISTS public.${table}`);
    await pg.end();
    kafka.down();
  });

  it('delivers every change written while Kafka was down, and the lag recovers', async () => {
    run = await client!.start('cdcPipelineWorkflow', [{ pipeline, tables: [`public.${table}`], batchSize: 200 }], {
      pattern: 'cdc',
    });
    const handle = run.handle;
    await waitFor('running', async () => (await pipelineStatus(handle).catch(() => null))?.state === 'running');

    // ~50 rows/s for the whole test.
    let written = 0;
    writing = true;
    const writer = (async () => {
      while (writing) {
        written++;
        await pg.query(`INSERT INTO ${table} VALUES ($1, now())`, [written]);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    await consumer.waitForCount(50, 60_000);
    // The consumer's connection dies with the broker: it reads the topic again afterwards.
    await within(15_000, 'stopping the consumer before the outage', consumer.stop());
    await kafka.stopAsync();
    const downAt = Date.now();
    const health = await waitFor('the Kafka backend breaker open', async () => {
      const body = (await (await fetch(`http://127.0.0.1:${worker!.httpPort}/health`)).json()) as {
        openBreakers: string[];
      };
      return body.openBreakers.length > 0 ? body : null;
    });
    assert.deepEqual(health.openBreakers, ['kafka'], 'the sink backend, not the source');
    const metrics = await (await fetch(`http://127.0.0.1:${worker!.httpPort}/metrics`)).text();
    assert.match(metrics, /prism_circuit_breaker_state\{backend="pg"\} 0/, 'Postgres closed');
    assert.match(
      metrics,
      /prism_bulkhead_in_flight\{backend="pg"\} [01]\n/,
      'at most the probing round holds Postgres',
    );
    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - downAt))));
    const during = await within(10_000, 'the status query during the outage', pipelineStatus(handle));
    const writtenDuringOutage = written;
    await kafka.startAsync();
    process.stdout.write(`# kafka down for ${Date.now() - downAt} ms; status then: ${JSON.stringify(during)}\n`);
    consumer = new CdcTestConsumer(brokers);
    await within(60_000, 'the test consumer to start again', consumer.start([topic]));

    await new Promise((r) => setTimeout(r, 3_000));
    writing = false;
    await writer;
    assert.ok(written > writtenDuringOutage, 'writes went on after the outage');
    const recoveredFrom = Date.now();
    await consumer.waitForCount(written, 120_000);
    process.stdout.write(
      `# ${written} rows; all delivered ${Date.now() - recoveredFrom} ms after the writes stopped\n`,
    );
    const ids = new Set(consumer.records.map((r) => (JSON.parse(r.key) as { id: number }).id));
    for (let i = 1; i <= written; i++) assert.ok(ids.has(i), `row ${i} delivered`);
    assert.ok(during.totals.eventsDelivered < written, 'the outage held delivery back');

    const status = await waitFor('lag to recover', async () => {
      const s = await pipelineStatus(handle);
      return s.totals.eventsDelivered >= written ? s : null;
    });
    process.stdout.write(`# status after: ${JSON.stringify(status)}\n`);
  });
});
