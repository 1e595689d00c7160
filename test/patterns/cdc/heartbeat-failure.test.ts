// A failed WAL heartbeat (pg_logical_emit_message) does not turn heartbeats off: with EXECUTE
// revoked, heartbeats fail, are reported (logged with the reason, counted in
// prism_cdc_heartbeat_failures_total) and tried again with a growing wait; once EXECUTE is granted again
// they resume, and an idle slot gets a position to confirm again. A worker running a pipeline on
// such a source logs the failure and serves the count on /metrics. The revoke is confined to a
// database of this test's own (function privileges live in each database's catalog) and a role of
// its own, so the shared server is untouched.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { Registry } from 'prom-client';
import type { DriverBase } from '../../../src/drivers/driver';
import type { CdcSource } from '../../../src/drivers/capabilities';
import type { DriverEvent } from '../../../src/drivers/events';
import { postgresDriver } from '../../../src/drivers/postgres';
import { createDriverEventMetrics, driverEventReporter } from '../../../src/observability/driver-events';
import { createLogger } from '../../../src/observability/logger';
import { PrismClient } from '../../../src/client/prism-client';
import { stackEnv, uniqueName } from '../../helpers/env';
import { startWorker, waitFor } from '../../helpers/worker-process';
import { cdcName, cdcWorkerConfig } from './setup';
import { pipelineStatus } from '../../../src/client/cdc';

const EMIT = ['pg_logical_emit_message(boolean, text, text)', 'pg_logical_emit_message(boolean, text, bytea)'];

describe('cdc: a failed WAL heartbeat is retried, logged and counted', () => {
  const id = `${process.pid}_${randomBytes(4).toString('hex')}`;
  const database = `prism_test_hb_${id}`;
  const role = `prism_test_hb_${id}`;
  const password = randomBytes(12).toString('hex');
  const capture = { slot: `prism_test_hb_${id}`, publication: `prism_test_hb_pub_${id}` };
  const admin = new Client({ connectionString: stackEnv.postgresUrl });
  let db: Client;
  let driver: (DriverBase & CdcSource) | undefined;

  /** The private database, as the stack's user or as the given role. */
  const urlFor = (login?: { user: string; password: string }): string => {
    const url = new URL(stackEnv.postgresUrl);
    url.pathname = `/${database}`;
    if (login) {
      url.username = login.user;
      url.password = login.password;
    }
    return url.toString();
  };

  before(async () => {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.query(`CREATE ROLE ${role} LOGIN REPLICATION NOSUPERUSER PASSWORD '${password}'`);
    await admin.query(`GRANT CREATE, CONNECT ON DATABASE ${database} TO ${role}`);
    db = new Client({ connectionString: urlFor() });
    await db.connect();
    for (const fn of EMIT) await db.query(`REVOKE EXECUTE ON FUNCTION ${fn} FROM PUBLIC`);
    await db.query('CREATE TABLE public.captured (id int PRIMARY KEY)');
    await db.query(`ALTER TABLE public.captured OWNER TO ${role}`);
    await db.query('CREATE TABLE public.elsewhere (id serial PRIMARY KEY)');
  });

  after(async () => {
    await driver?.close();
    await db
      ?.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1', [database])
      .catch(() => undefined);
    await db?.end().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    await admin.end();
  });

  it('fails while EXECUTE is revoked, then resumes once granted; every failure is logged and counted', async () => {
    const events: DriverEvent[] = [];
    const lines: string[] = [];
    const registry = new Registry();
    const report = driverEventReporter(
      'pg-heartbeat',
      createLogger('info', {}, (line) => lines.push(line)),
      createDriverEventMetrics(registry),
    );
    const config = postgresDriver.configSchema.parse({
      url: urlFor({ user: role, password }),
      cdcHeartbeatIntervalMs: 100,
    });
    driver = (await postgresDriver.create(config, {
      backend: 'pg-heartbeat',
      report: (event) => {
        events.push(event);
        report(event);
      },
    })) as DriverBase & CdcSource;
    await driver.ensureCapture({ ...capture, tables: ['public.captured'] });
    // WAL the slot does not capture: the slot lags, and only a heartbeat can move it.
    await db.query('INSERT INTO public.elsewhere DEFAULT VALUES');

    const failures = () => events.filter((e) => e.type === 'cdc_heartbeat_failed');
    await waitFor('three failed heartbeats', async () => {
      const read = await driver!.readChanges({ ...capture, waitMs: 0 });
      assert.deepEqual(read.changes, []);
      assert.equal(read.lastLsn, null, 'no position while heartbeats fail');
      return failures().length >= 3;
    });
    const failed = failures() as Extract<DriverEvent, { type: 'cdc_heartbeat_failed' }>[];
    for (const event of failed) assert.match(event.reason, /permission denied for function pg_logical_emit_message/);
    assert.deepEqual(
      failed.map((e) => e.failures),
      failed.map((_, i) => i + 1),
    );
    assert.ok(
      failed.every((e, i) => i === 0 || e.retryInMs > failed[i - 1]!.retryInMs),
      `the wait grows: ${failed.map((e) => e.retryInMs).join(', ')}`,
    );

    for (const fn of EMIT) await db.query(`GRANT EXECUTE ON FUNCTION ${fn} TO ${role}`);
    const position = await waitFor(
      'heartbeats to resume and give the idle slot a position',
      async () => {
        const read = await driver!.readChanges({ ...capture, waitMs: 0 });
        assert.deepEqual(read.changes, []);
        return events.some((e) => e.type === 'cdc_heartbeat_resumed') && read.lastLsn;
      },
      60_000,
    );
    const failedInAll = failures().length;
    const resumed = events.find((e) => e.type === 'cdc_heartbeat_resumed')!;
    assert.deepEqual(resumed, { type: 'cdc_heartbeat_resumed', slot: capture.slot, afterFailures: failedInAll });
    await driver.confirm({ slot: capture.slot, lsn: position });
    const slot = await db.query<{ past: boolean }>(
      'SELECT confirmed_flush_lsn >= $2::pg_lsn AS past FROM pg_replication_slots WHERE slot_name = $1',
      [capture.slot, position],
    );
    assert.equal(slot.rows[0]?.past, true, 'the slot moved to the heartbeat position');

    const metrics = await registry.metrics();
    assert.match(
      metrics,
      new RegExp(`prism_cdc_heartbeat_failures_total\\{backend="pg-heartbeat"\\} ${failedInAll}\\n`),
    );
    const warnings = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.level === 'warn');
    assert.equal(warnings.length, failedInAll, 'one warning per failure');
    assert.match(String(warnings[0]!.reason), /permission denied/);
    assert.equal(warnings[0]!.backend, 'pg-heartbeat');
    assert.ok(lines.some((l) => l.includes('CDC heartbeats resumed')));
    process.stdout.write(`# ${failedInAll} failed heartbeats, waits ${failed.map((e) => e.retryInMs).join(' ')} ms\n`);
  });

  it('a worker logs the failure with its reason and serves the count on /metrics', async () => {
    for (const fn of EMIT) await db.query(`REVOKE EXECUTE ON FUNCTION ${fn} FROM ${role}`);
    const url = urlFor({ user: role, password });
    const taskQueue = uniqueName('cdc-heartbeat');
    const pipeline = cdcName('hb');
    const worker = await startWorker(
      cdcWorkerConfig(taskQueue, {
        postgresUrl: url,
        extraBackends: { pg: { driver: 'postgres', config: { url, cdcHeartbeatIntervalMs: 100 } } },
      }),
    );
    const client = await PrismClient.connect({ taskQueue });
    try {
      const run = await client.start('cdcPipelineWorkflow', [{ pipeline, tables: ['public.captured'] }], {
        pattern: 'cdc',
        workflowId: `cdc-${pipeline}`,
      });
      try {
        await db.query('INSERT INTO public.elsewhere DEFAULT VALUES');
        const count = await waitFor('the worker to count a failed heartbeat', async () => {
          const metrics = await (await fetch(`http://127.0.0.1:${worker.httpPort}/metrics`)).text();
          const match = /prism_cdc_heartbeat_failures_total\{backend="pg"\} (\d+)/.exec(metrics);
          return match && Number(match[1]) >= 2 ? Number(match[1]) : null;
        });
        assert.ok(count >= 2);
        const warning = worker
          .output()
          .split('\n')
          .find((line) => line.includes('CDC heartbeat failed'));
        assert.ok(warning, 'the failure is logged');
        assert.match(warning, /"backend":"pg"/);
        assert.match(warning, /permission denied for function pg_logical_emit_message/);
        assert.equal((await pipelineStatus(run.handle)).state, 'running', 'the pipeline keeps running');
      } finally {
        await run.handle.terminate('test done').catch(() => undefined);
      }
    } finally {
      await client.close();
      await worker.stop();
    }
  });
});
