// prism against a real worker (saga and kv-probe on Postgres, Kafka and Redis): start --wait and
// describe in both output forms, a failed workflow's cause chain, saga status/list and config dump
// as JSON, and a check that every read command's `-o json` is parsed by some test.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { stackEnv, uniqueName } from '../helpers/env';
import { orderInput, sagaWorkerConfig } from '../helpers/saga-env';
import { runProcess, startWorker, writeConfig, type WorkerProcess } from '../helpers/worker-process';
import { CLI, commandTree, label } from './support';

/** Where each read command's `-o json` is parsed; a new read command fails here until it is tested. */
const JSON_TESTED_IN: Record<string, string> = {
  'prism describe': 'test/cli/against-a-worker.test.ts',
  'prism config dump': 'test/cli/against-a-worker.test.ts',
  'prism saga status': 'test/cli/against-a-worker.test.ts',
  'prism saga list': 'test/cli/against-a-worker.test.ts',
  'prism multicast enumerate': 'test/patterns/multicast-registry/cli.test.ts',
  'prism multicast status': 'test/patterns/multicast-registry/cli.test.ts',
  'prism multicast report': 'test/patterns/multicast-registry/cli.test.ts',
  'prism multicast receive': 'test/patterns/multicast-registry/cli.test.ts',
  'prism session create': 'test/patterns/session-store/cli.test.ts',
  'prism session get': 'test/patterns/session-store/cli.test.ts',
  'prism session get-data': 'test/patterns/session-store/cli.test.ts',
  'prism session set': 'test/patterns/session-store/cli.test.ts',
  'prism session delete-data': 'test/patterns/session-store/cli.test.ts',
  'prism session delete': 'test/patterns/session-store/cli.test.ts',
  'prism session extend': 'test/patterns/session-store/cli.test.ts',
  'prism session status': 'test/patterns/session-store/cli.test.ts',
  'prism session list': 'test/patterns/session-store/cli.test.ts',
  'prism cdc status': 'test/patterns/cdc/cli.test.ts',
};

describe('prism against a worker', () => {
  const taskQueue = uniqueName('cli');
  let worker: WorkerProcess;
  let configFile = '';
  const prism = (...args: string[]) => runProcess([CLI, ...args, '--task-queue', taskQueue]);

  before(async () => {
    const config = sagaWorkerConfig(taskQueue) as {
      backends: Record<string, unknown>;
      patterns: Record<string, unknown>;
    };
    // A backend refusing values over 16 bytes: an input the CLI accepts, a workflow that fails.
    config.backends.tiny = { driver: 'redis', config: { url: stackEnv.redisUrl, limits: { maxValueBytes: 16 } } };
    config.patterns['kv-probe'] = { slots: { store: 'tiny' } };
    configFile = writeConfig(config);
    worker = await startWorker(config);
  });

  after(async () => {
    await worker?.stop();
  });

  it('start --wait prints the result; describe prints the execution as a table and as JSON', async () => {
    const key = uniqueName('cli-key');
    const started = await prism('start', 'kvProbeWorkflow', '--input', JSON.stringify({ key, value: 'v' }), '--wait');
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, new RegExp(`result: +\\{"key":"${key}","written":"v","readBack":"v"`));
    const workflowId = /workflow id: (\S+)/.exec(started.stdout)![1];

    const table = await prism('describe', workflowId);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^status: +COMPLETED$/m);
    const json = await prism('describe', workflowId, '-o', 'json');
    assert.equal(json.code, 0, json.stderr);
    const d = JSON.parse(json.stdout) as { workflowId: string; type: string; status: string; taskQueue: string };
    assert.deepEqual(
      { workflowId: d.workflowId, type: d.type, status: d.status, taskQueue: d.taskQueue },
      { workflowId, type: 'kvProbeWorkflow', status: 'COMPLETED', taskQueue },
    );
  });

  it('a failed workflow: exit 1 and its cause, not just "workflow execution failed"', async () => {
    const input = JSON.stringify({ key: 'k', value: 'a value over sixteen bytes' });
    const r = await prism('start', 'kvProbeWorkflow', '--input', input, '--wait');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /^prism: workflow execution failed\n {2}caused by: activity .* failed\n {2}caused by: .*16/m,
    );
    assert.doesNotMatch(r.stderr, /\n\s+at .*\.js:\d+/, 'no stack trace');
  });

  it('saga start --wait, then saga status and saga list as JSON', async () => {
    const started = await prism('saga', 'start', 'order', '--input', JSON.stringify(orderInput()), '--wait');
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, /status: +completed/);
    const workflowId = /workflow id: (\S+)/.exec(started.stdout)![1];

    const status = await prism('saga', 'status', workflowId, '-o', 'json');
    assert.equal(status.code, 0, status.stderr);
    const state = JSON.parse(status.stdout) as { status: string; steps: Record<string, { status: string }> };
    assert.equal(state.status, 'completed');
    assert.ok(Object.values(state.steps).every((s) => s.status === 'completed'));
    const table = await prism('saga', 'status', workflowId);
    assert.match(table.stdout, /^status: +completed$/m);
    assert.match(table.stdout, /^STEP +STATUS +ATTEMPTS +ERROR$/m);

    // Visibility is eventually consistent: the new saga shows up in the list shortly.
    let listed: { workflowId: string; status: string | null }[] = [];
    for (let i = 0; i < 50 && !listed.some((s) => s.workflowId === workflowId); i++) {
      const list = await prism('saga', 'list', '--status', 'completed', '-o', 'json');
      assert.equal(list.code, 0, list.stderr);
      listed = JSON.parse(list.stdout) as typeof listed;
      if (!listed.some((s) => s.workflowId === workflowId)) await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual(
      listed.find((s) => s.workflowId === workflowId),
      { ...listed.find((s) => s.workflowId === workflowId), status: 'completed' },
    );
  });

  it('describe names the business key and the outcome: a compensated saga does not read as a success', async () => {
    const input = orderInput({ amount: 5000, openingBalance: 100 });
    const started = await prism('saga', 'start', 'order', '--input', JSON.stringify(input), '--wait');
    assert.equal(started.code, 1, started.stdout + started.stderr);
    assert.match(started.stdout, /status: +compensated/);
    const workflowId = /workflow id: (\S+)/.exec(started.stdout)![1];
    const json = await prism('describe', workflowId, '-o', 'json');
    assert.equal(json.code, 0, json.stderr);
    const d = JSON.parse(json.stdout) as {
      status: string;
      pattern: string;
      patternStatus: string;
      memo: object;
      summary: string;
    };
    assert.deepEqual(
      { status: d.status, pattern: d.pattern, patternStatus: d.patternStatus, memo: d.memo },
      { status: 'COMPLETED', pattern: 'saga', patternStatus: 'compensated', memo: { orderId: input.orderId } },
    );
    assert.match(d.summary, new RegExp(`^order ${input.orderId}: `));
    const table = await prism('describe', workflowId);
    assert.match(table.stdout, /^patternStatus: +compensated$/m);
  });

  it('config dump -o json is the redacted config as JSON', async () => {
    const r = await runProcess([CLI, 'config', 'dump', '--config', configFile, '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const config = JSON.parse(r.stdout) as { temporal: { task_queue: string }; backends: Record<string, unknown> };
    assert.equal(config.temporal.task_queue, taskQueue);
    assert.deepEqual(Object.keys(config.backends).sort(), ['kafka', 'pg', 'redis', 'tiny']);
  });

  it('every read command (one with -o) has its JSON output parsed by a test', () => {
    const readCommands = commandTree()
      .filter(({ command }) => command.options.some((o) => o.long === '--output'))
      .map(({ path }) => label(path));
    assert.deepEqual(
      readCommands.filter((c) => !(c in JSON_TESTED_IN)),
      [],
    );
  });
});
