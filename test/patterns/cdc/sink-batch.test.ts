// Batched delivery goes through the sink backend's driver (pubsub_batch), guarded as the sink (the
// streaming pump calls it through the sink's guarded handle):
// to Kafka one produce request per batch with the row's key as the record key, checked by an
// independent kafkajs consumer; to NATS when the sink slot names NATS, without touching Kafka;
// and the settings that used to bypass the sink (kafkaDirect, postgresUrl) are refused by name.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from 'pg';
import { PrismClient, type Started } from '../../../src/client/prism-client';
import type { PubSubMessage, Subscription } from '../../../src/drivers/capabilities';
import type { Driver } from '../../../src/drivers/driver';
import { natsDriver } from '../../../src/drivers/nats';
import type { CdcEvent } from '../../../src/workflows/cdc/events';
import { CdcTestConsumer } from '../../helpers/cdc-kafka';
import { stackEnv, uniqueName } from '../../helpers/env';
import { startWorker, waitFor, type WorkerProcess } from '../../helpers/worker-process';
import { cdcName, cdcWorkerConfig, dropCapture, pgClient } from './setup';
import { pipelineStatus } from '../../../src/client/cdc';

async function waitRunning(run: Started): Promise<void> {
  await waitFor('running', async () => (await pipelineStatus(run.handle).catch(() => null))?.state === 'running');
}

describe('cdc: batched delivery to Kafka through the sink', () => {
  const taskQueue = uniqueName('cdc-batch');
  const pipeline = cdcName('kb');
  const table = `cdc_kb_${pipeline}`;
  let worker: WorkerProcess;
  let client: PrismClient;
  let pg: Client;
  let run: Started | undefined;
  const consumer = new CdcTestConsumer();

  before(async () => {
    pg = await pgClient();
    await pg.query(`CREATE TABLE public.${table} (id int PRIMARY KEY, n int)`);
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
    await pg.query(`DROP TABLE IF EXISTS public.${table}`);
    await pg.end();
  });

  it('delivers every event once, in order per key, with the key as the record key', async () => {
    run = await client.start(
      'cdcPipelineWorkflow',
      [{ pipeline, tables: [`public.${table}`], filter: { operations: ['c', 'u'] } }],
      { pattern: 'cdc' },
    );
    const handle = run.handle;
    await waitRunning(run);
    await pg.query(`INSERT INTO ${table} SELECT g, 0 FROM generate_series(1, 100) g`);
    for (let round = 1; round <= 3; round++) await pg.query(`UPDATE ${table} SET n = $1`, [round]);
    await pg.query(`DELETE FROM ${table} WHERE id > 50`); // filtered out: deletes are not wanted
    await consumer.waitForCount(400);
    const status = await waitFor('the deletes read and filtered', async () => {
      const s = await pipelineStatus(handle);
      return s.totals.filtered >= 50 ? s : null;
    });
    assert.equal(status.totals.eventsDelivered, 400);
    assert.equal(consumer.records.length, 400, 'each event once');
    for (const r of consumer.records) {
      assert.equal(r.recordKey, JSON.stringify((r.body as unknown as CdcEvent).key), 'the record key is the row key');
      assert.equal(r.messageId, r.id, 'the message id is the event id');
    }
    const perKey = new Map<string, number[]>();
    for (const r of consumer.records) {
      const e = r.body as unknown as CdcEvent;
      perKey.set(r.key, [...(perKey.get(r.key) ?? []), e.after!.n as number]);
    }
    assert.equal(perKey.size, 100);
    for (const [key, values] of perKey) assert.deepEqual(values, [0, 1, 2, 3], `key ${key}`);

    // The pump streamed on the source backend's queue and delivered through the Kafka backend's
    // guard (its publishBatch calls are counted under backend="kafka"); no row went through history.
    const history = await handle.fetchHistory();
    const scheduled = (history.events ?? []).flatMap((e) => {
      const a = e.activityTaskScheduledEventAttributes;
      return a ? [{ type: a.activityType?.name ?? '', queue: a.taskQueue?.name ?? '' }] : [];
    });
    const pumps = scheduled.filter((a) => a.type === 'cdc.source.pump');
    assert.ok(pumps.length > 0, 'pump rounds ran');
    for (const p of pumps) assert.equal(p.queue, `${taskQueue}.backend.pg`);
    assert.ok(
      !scheduled.some((a) =>
        ['cdc.source.capture', 'cdc.source.captureAndDeliver', 'cdc.sink.deliver'].includes(a.type),
      ),
      'no batch through history',
    );
    const metrics = await (await fetch(`http://127.0.0.1:${worker.httpPort}/metrics`)).text();
    const batches =
      /prism_driver_operations_total\{backend="kafka",driver="kafka",operation="pubsub_batch\.publishBatch",status="ok"\} (\d+)/.exec(
        metrics,
      );
    assert.ok(batches && Number(batches[1]) > 0, `publishBatch through the Kafka guard:\n${metrics}`);
  });
});

describe('cdc: a NATS sink', () => {
  const taskQueue = uniqueName('cdc-nats-sink');
  const pipeline = cdcName('ns');
  const table = `cdc_ns_${pipeline}`;
  const topic = `${pipeline}.public.${table}`;
  let worker: WorkerProcess;
  let client: PrismClient;
  let pg: Client;
  let nats: Driver;
  let subscription: Subscription | undefined;
  let run: Started | undefined;
  const received: PubSubMessage[] = [];

  before(async () => {
    pg = await pgClient();
    await pg.query(`CREATE TABLE public.${table} (id int PRIMARY KEY, n int)`);
    nats = await natsDriver.create(natsDriver.configSchema.parse({ servers: [stackEnv.natsUrl] }), {
      backend: 'cdc-test-subscriber',
    });
    subscription = await nats.subscribe!(topic, (m) => received.push(m));
    // The Kafka backend points nowhere: any use of it would fail the pipeline.
    worker = await startWorker(
      cdcWorkerConfig(taskQueue, {
        sinkBackend: 'nats',
        kafkaBrokers: ['127.0.0.1:1'],
        extraBackends: { nats: { driver: 'nats', config: { servers: [stackEnv.natsUrl] } } },
      }),
    );
    client = await PrismClient.connect({ taskQueue });
  });

  after(async () => {
    await run?.handle.terminate('test cleanup').catch(() => undefined);
    await subscription?.unsubscribe();
    await nats?.close();
    await client?.close();
    await worker?.stop();
    await dropCapture(pg, pipeline);
    await pg.query(`DROP TABLE IF EXISTS public.${table}`);
    await pg.end();
  });

  it('delivers to NATS in order per key and never opens Kafka', async () => {
    run = await client.start('cdcPipelineWorkflow', [{ pipeline, tables: [`public.${table}`] }], {
      pattern: 'cdc',
    });
    await waitRunning(run);
    await pg.query(`INSERT INTO ${table} SELECT g, 0 FROM generate_series(1, 20) g`);
    await pg.query(`UPDATE ${table} SET n = 1`);
    await waitFor('40 events on NATS', async () => received.length >= 40);
    const perKey = new Map<string, number[]>();
    for (const m of received) {
      const e = JSON.parse(Buffer.from(m.payload).toString('utf8')) as CdcEvent;
      assert.equal(m.key, JSON.stringify(e.key), 'the message key is the row key');
      // The event id is the message id (Nats-Msg-Id: JetStream drops a repeat); no header repeats the body.
      assert.equal(m.messageId, e.id, 'the message id is the event id');
      assert.deepEqual(m.headers, {});
      perKey.set(m.key!, [...(perKey.get(m.key!) ?? []), e.after!.n as number]);
    }
    assert.equal(perKey.size, 20);
    for (const [key, values] of perKey) assert.deepEqual(values, [0, 1], `key ${key}`);

    const metrics = await (await fetch(`http://127.0.0.1:${worker.httpPort}/metrics`)).text();
    assert.match(metrics, /prism_circuit_breaker_state\{backend="nats"\}/);
    assert.doesNotMatch(metrics, /backend="kafka"/, 'the Kafka backend is not even opened');
  });
});

describe('cdc: settings that bypassed the sink or the source backend', () => {
  for (const [field, value, names] of [
    ['kafkaDirect', { brokers: stackEnv.kafkaBrokers }, /slots\.sink.*pubsub_batch/],
    ['postgresUrl', stackEnv.postgresUrl, /slots\.source/],
  ] as const) {
    it(`refuses settings.${field}, saying what is used instead`, async () => {
      const config = cdcWorkerConfig(uniqueName('cdc-removed'), { settings: { [field]: value } });
      await assert.rejects(startWorker(config), (err: Error) => {
        assert.match(err.message, new RegExp(`patterns\\.cdc\\.settings\\.${field}: removed`));
        assert.match(err.message, names);
        return true;
      });
    });
  }
});
