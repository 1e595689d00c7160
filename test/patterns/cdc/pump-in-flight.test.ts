// The streaming pump with several batches in flight keeps confirm-after-ack: it reads three
// transactions (one batch each) while the sink still holds the first, the sink then accepts the
// first and fails the next call (the second batch, with the third if they went together), and the
// slot is confirmed up to the first only; nothing after the failed call reaches the sink. The retry (the next attempt, taking over the heartbeat's counts)
// reads again from the confirmed position, and every row arrives once, in order per key.
// The pump runs in-process (Temporal's mock activity context) on the real Postgres and Kafka; the
// sink is the Kafka driver behind a guard, whose second produce fails as an unreachable broker would.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Registry } from 'prom-client';
import type { Client } from 'pg';
import { cdcPump } from '../../../src/activities/cdc/pump';
import { cdcSettingsSchema } from '../../../src/workflows/cdc/settings';
import { parseConfig } from '../../../src/config/load';
import { parseResilienceConfig } from '../../../src/resilience/config';
import type { BatchMessage, CdcChangeStream, CdcSource, Ops } from '../../../src/drivers/capabilities';
import { builtinDrivers } from '../../../src/drivers/builtin';
import type { Driver } from '../../../src/drivers/driver';
import { DriverError } from '../../../src/drivers/errors';
import { kafkaDriver } from '../../../src/drivers/kafka';
import { postgresDriver } from '../../../src/drivers/postgres';
import { createMetrics } from '../../../src/observability/metrics';
import { builtinPatterns } from '../../../src/patterns/builtin';
import { BackendGuard } from '../../../src/resilience/backend-guard';
import { createHandle, guardedOperations } from '../../../src/runtime/backend-handle';
import { matchSlots } from '../../../src/runtime/slot-matcher';
import type { PumpProgress, PumpRequest, PumpResult } from '../../../src/workflows/cdc/activity-io';
import { CdcTestConsumer } from '../../helpers/cdc-kafka';
import { stackEnv } from '../../helpers/env';
import { waitFor } from '../../helpers/worker-process';
import { cdcName, dropCapture, pgClient } from './setup';

const KEYS = 5;
const VERSIONS = ['v1', 'v2', 'v3'];

/** A promise with its resolve and reject exposed. */
function signal(): { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('cdc pump: several batches in flight', () => {
  const pipeline = cdcName('inflight');
  const slot = `prism_cdc_${pipeline}`;
  const publication = `prism_cdc_${pipeline}_pub`;
  const table = `cdc_inflight_${pipeline}`;
  const topic = `cdc-inflight-${pipeline.replace(/_/g, '-')}`;
  let pg: Client;
  let source: Driver & CdcSource;
  let kafka: Driver;
  const consumer = new CdcTestConsumer();

  before(async () => {
    pg = await pgClient();
    await pg.query(`CREATE TABLE public.${table} (id int PRIMARY KEY, note text)`);
    source = (await postgresDriver.create(postgresDriver.configSchema.parse({ url: stackEnv.postgresUrl }), {
      backend: 'pg',
    })) as Driver & CdcSource;
    kafka = await kafkaDriver.create(kafkaDriver.configSchema.parse({ brokers: stackEnv.kafkaBrokers }), {
      backend: 'kafka',
    });
    await consumer.start([topic]);
  });

  after(async () => {
    await consumer.stop().catch(() => undefined);
    await kafka?.close();
    await source?.close();
    await dropCapture(pg, pipeline);
    await pg.query(`DROP TABLE IF EXISTS public.${table}`);
    await pg.end();
  });

  it('refuses a batchesInFlight out of range, naming the field', () => {
    const { problems } = matchSlots(
      parseConfig(`
backends:
  pg: { driver: postgres, config: { url: postgres://u:p@127.0.0.1:5432/db } }
patterns:
  cdc: { slots: { source: pg, sink: pg }, settings: { batchesInFlight: 0 } }
`),
      builtinPatterns(),
      builtinDrivers(),
    );
    assert.ok(
      problems.some((p) => p.startsWith('patterns.cdc.settings.batchesInFlight:')),
      `a problem naming the field, got: ${problems.join('; ')}`,
    );
    assert.equal(cdcSettingsSchema.parse({}).batchesInFlight, 4, 'the default');
  });

  it('confirms only up to the last batch before a failed one, and the retry delivers the rest in order', async () => {
    await source.ensureCapture({ slot, publication, tables: [`public.${table}`] });
    // Three transactions, one batch each (batchSize = KEYS): every key written in each.
    await pg.query(`INSERT INTO public.${table} SELECT g, 'v1' FROM generate_series(1, ${KEYS}) g`);
    const afterFirst = (await pg.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0]!
      .lsn;
    await pg.query(`UPDATE public.${table} SET note = 'v2'`);
    await pg.query(`UPDATE public.${table} SET note = 'v3'`);
    const written = (await pg.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0]!.lsn;

    // The source as the pump sees it, counting the batches of changes it has handed out.
    let batchesRead = 0;
    const threeRead = signal();
    const counted: Ops<'cdc_source'> = Object.assign(Object.create(source) as Driver & CdcSource, {
      async streamChanges(options: Parameters<CdcSource['streamChanges']>[0]): Promise<CdcChangeStream> {
        const stream = await source.streamChanges(options);
        // Everything sent before the first read, so that each read takes one whole transaction.
        await waitFor('the walsender to send every transaction', async () => {
          const sent = await pg.query<{ done: boolean }>(
            `SELECT sent_lsn >= $2::pg_lsn AS done FROM pg_stat_replication
             WHERE pid = (SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1)`,
            [slot, written],
          );
          return sent.rows[0]?.done === true ? true : null;
        });
        await new Promise((r) => setTimeout(r, 200));
        return Object.assign(Object.create(stream) as CdcChangeStream, {
          async next(request: Parameters<CdcChangeStream['next']>[0]) {
            const batch = await stream.next(request);
            if (batch.changes.length > 0 && ++batchesRead >= 3) threeRead.resolve();
            return batch;
          },
          confirm: (position: string) => stream.confirm(position),
          close: () => stream.close(),
        });
      },
    });

    // The sink: Kafka behind its guard. Its first produce waits until three batches are read (so
    // three are in flight), the next one fails as an unreachable broker does.
    let produces = 0;
    let failing = true;
    const flaky = Object.assign(Object.create(kafka) as Driver, {
      async publishBatch(messages: BatchMessage[]) {
        const call = ++produces;
        // With fewer than three batches allowed in flight this would wait forever: fail instead.
        if (call === 1) {
          const late = setTimeout(() => threeRead.reject(new Error('three batches were never read')), 20_000);
          await threeRead.promise.finally(() => clearTimeout(late));
        }
        if (call === 2 && failing) throw new DriverError('kafka', 'Unavailable', 'the broker is unreachable');
        return kafka.publishBatch!(messages);
      },
    });
    const guard = new BackendGuard({
      backend: 'kafka',
      driver: 'kafka',
      config: parseResilienceConfig({}),
      metrics: createMetrics(new Registry()),
    });
    const sink = createHandle('kafka', flaky, guard, guardedOperations(flaky, guard), async () => undefined);
    const pump = cdcPump(counted, {
      pattern: 'cdc',
      slot: 'source',
      backend: 'pg',
      settings: cdcSettingsSchema.parse({ batchesInFlight: 4 }),
      slots: { sink },
    });
    const request: PumpRequest = {
      pipeline,
      slot,
      publication,
      sinkMode: 'pubsub',
      batchSize: KEYS,
      spec: { db: 'prism', filter: {}, transforms: [], topicPrefix: pipeline, topics: { [`public.${table}`]: topic } },
      forMs: 60_000,
      maxChanges: 1_000_000,
    };

    const first = new MockActivityEnvironment();
    let beat: PumpProgress | undefined;
    first.on('heartbeat', (details: unknown) => (beat = details as PumpProgress));
    await assert.rejects(first.run(pump, request), /the broker is unreachable/);
    assert.equal(batchesRead, 3, 'three batches were read before the sink answered the first');
    assert.equal(produces, 2, 'nothing was sent after the failed call');
    assert.ok(beat, 'the failed attempt heartbeated its counts');
    assert.deepEqual(
      { changesRead: beat.changesRead, delivered: beat.delivered, batches: beat.batches },
      { changesRead: KEYS, delivered: KEYS, batches: 1 },
      'the counts are those of the first batch only',
    );
    const firstPosition = beat.position;
    assert.ok(firstPosition !== null, 'the first batch confirmed its position');
    const confirmed = async (): Promise<string> =>
      (
        await pg.query<{ lsn: string }>(
          'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
          [slot],
        )
      ).rows[0]!.lsn;
    const atMost = async (a: string, b: string): Promise<boolean> =>
      (await pg.query<{ ok: boolean }>('SELECT $1::pg_lsn <= $2::pg_lsn AS ok', [a, b])).rows[0]!.ok;
    await waitFor('the slot confirmed the first batch', async () =>
      (await atMost(firstPosition, await confirmed())) ? true : null,
    );
    const held = await confirmed();
    assert.ok(
      await atMost(held, afterFirst),
      `confirmed_flush_lsn ${held} (first batch at ${firstPosition}) must not pass the first transaction (${afterFirst})`,
    );

    // The retry: the sink works again; it takes over the heartbeat's counts and reads from the slot.
    failing = false;
    const retry = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: beat });
    const result: PumpResult = await retry.run(pump, { ...request, forMs: 2_000 });
    assert.deepEqual(
      { changesRead: result.changesRead, delivered: result.delivered, batches: result.batches },
      { changesRead: 3 * KEYS, delivered: 3 * KEYS, batches: 3 },
      'every change counted once over both attempts',
    );
    const current = (await pg.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0]!.lsn;
    assert.ok(result.position && (await atMost(result.position, current)) && !(await atMost(result.position, held)));

    await consumer.waitForCount(3 * KEYS, 60_000);
    assert.equal(consumer.records.length, 3 * KEYS, 'each event reached Kafka once: none after the failed batch');
    const notesByKey = new Map<number, string[]>();
    for (const record of consumer.records) {
      const after = record.body.after as { id: number; note: string };
      notesByKey.set(after.id, [...(notesByKey.get(after.id) ?? []), after.note]);
    }
    assert.deepEqual(
      [...notesByKey].sort(([a], [b]) => a - b),
      Array.from({ length: KEYS }, (_, i) => [i + 1, VERSIONS]),
      'every key has its three versions, in commit order',
    );
  });
});
