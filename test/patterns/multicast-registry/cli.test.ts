// prism multicast from the command line: register, enumerate (table and JSON), send --wait
// (progress and the UI link), status, unregister; a send no identity matches warns; send --channel
// queue then receive --ack; bad arguments are usage errors.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { uniqueName } from '../../helpers/env';
import { DIST_ROOT, runProcess, startWorker, writeConfig, type WorkerProcess } from '../../helpers/worker-process';
import { stacks, workerConfig } from './stacks';

const CLI = join(DIST_ROOT, 'src/cli/main.js');

describe('prism multicast', () => {
  const stack = stacks()[0];
  let worker: WorkerProcess;
  const registry = uniqueName('cli');
  const previousQueue = process.env.PRISM_TASK_QUEUE;

  before(async () => {
    const taskQueue = uniqueName('mcr-cli');
    worker = await startWorker(workerConfig(taskQueue, stack, {}, { durability: true }));
    // The CLI child inherits the environment: point it at this test's worker.
    process.env.PRISM_TASK_QUEUE = taskQueue;
  });

  after(async () => {
    process.env.PRISM_TASK_QUEUE = previousQueue;
    await worker?.stop();
  });

  const prism = (...args: string[]) => runProcess([CLI, 'multicast', ...args, '--registry', registry]);

  it('with --config, registry operations call the backend directly: no workflow, so no worker is needed', async () => {
    // The config's task queue has no worker: an operation that ran as a workflow would never finish.
    const file = writeConfig(workerConfig(uniqueName('mcr-no-worker'), stack, {}, { durability: true }));
    const direct = uniqueName('direct');
    const run = (...args: string[]) =>
      runProcess([CLI, 'multicast', ...args, '--registry', direct, '--config', file], { timeoutMs: 30_000 });
    const registered = await run('register', 'delta', '--metadata', '{"team":"d"}', '--ttl', '300');
    assert.equal(registered.code, 0, registered.stderr);
    const listed = await run('enumerate', '-o', 'json');
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      (JSON.parse(listed.stdout) as { identities: { identity: string }[] }).identities.map((r) => r.identity),
      ['delta'],
    );
    const unknown = await run('heartbeat', 'nobody');
    assert.equal(unknown.code, 1, unknown.stdout);
    assert.match(unknown.stderr, /NotFound/);
    const removed = await run('unregister', 'delta');
    assert.equal(removed.code, 0, removed.stderr);
    assert.deepEqual(JSON.parse((await run('enumerate', '-o', 'json')).stdout).identities, []);
  });

  it('register, enumerate, send --wait, unregister', async () => {
    for (const id of ['alpha', 'beta', 'gamma']) {
      const r = await prism(
        'register',
        id,
        '--metadata',
        JSON.stringify({ team: id === 'gamma' ? 'b' : 'a' }),
        '--ttl',
        '300',
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`registered ${id} at .*lease until`));
    }
    const conflict = await prism('register', 'alpha');
    assert.equal(conflict.code, 1);
    assert.match(conflict.stderr, /IdentityConflict: identity "alpha" is already registered/);

    const listed = await prism('enumerate', '--filter', '{"team":"a"}');
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^IDENTITY +METADATA +EXPIRES$/m);
    assert.match(listed.stdout, /^alpha +\{"team":"a"\} +\d{4}-/m);
    assert.match(listed.stdout, /^beta +/m);
    assert.doesNotMatch(listed.stdout, /gamma/);
    const json = await prism('enumerate', '--filter', '{"team":"a"}', '-o', 'json');
    assert.equal(json.code, 0, json.stderr);
    const page = JSON.parse(json.stdout) as { identities: { identity: string }[]; cursor: string | null };
    assert.deepEqual(page.identities.map((r) => r.identity).sort(), ['alpha', 'beta']);
    assert.equal(page.cursor, null);

    const sent = await prism('send', '--filter', '{"team":"a"}', '--payload', 'hi', '--wait');
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stdout, /workflow id: multicast-registry-multicast-/);
    assert.match(sent.stdout, /ui: +http:\/\/.*\/namespaces\/default\/workflows\/multicast-registry-multicast-/);
    assert.match(sent.stdout, /progress: +2\/2 accounted \(delivered 2, failed 0, pending 0\)/);
    assert.match(sent.stdout, /result: +2 targets, 2 delivered, 0 failed/);
    assert.equal(sent.stderr, '', 'no warning when identities matched');

    // status: the progress query's counts (or, with --targets, the whole report) as one JSON document.
    const workflowId = /workflow id: (\S+)/.exec(sent.stdout)![1];
    // The registry is the execution's business key, in its memo (the Temporal UI shows it).
    const described = await runProcess([CLI, 'describe', workflowId, '-o', 'json']);
    const execution = JSON.parse(described.stdout) as { memo: object; summary: string };
    assert.deepEqual(execution.memo, { registry });
    assert.equal(execution.summary, `multicast in ${registry} to {"team":"a"}`);
    const status = await prism('status', workflowId, '-o', 'json');
    assert.equal(status.code, 0, status.stderr);
    assert.deepEqual(JSON.parse(status.stdout), { targetCount: 2, delivered: 2, failed: 0, pending: 0, done: true });
    const full = await prism('status', workflowId, '--targets', '-o', 'json');
    const report = JSON.parse(full.stdout) as { statuses: { identity: string; status: string }[] };
    assert.deepEqual(report.statuses.map((t) => `${t.identity}:${t.status}`).sort(), [
      'alpha:delivered',
      'beta:delivered',
    ]);
    // report: the targets a page of the report at a time, with the cursor of the next (null: the end).
    const paged = await prism('report', workflowId, '--rows', '1', '-o', 'json');
    assert.equal(paged.code, 0, paged.stderr);
    type ReportPage = { targets: { identity: string; status: string }[]; cursor: string | null };
    const seen: string[] = [];
    let reportPage = JSON.parse(paged.stdout) as ReportPage;
    for (let calls = 0; ; calls++) {
      seen.push(...reportPage.targets.map((t) => `${t.identity}:${t.status}`));
      if (reportPage.cursor === null || calls > 10) break;
      const next = await prism('report', workflowId, '--rows', '1', '--cursor', reportPage.cursor, '-o', 'json');
      assert.equal(next.code, 0, next.stderr);
      reportPage = JSON.parse(next.stdout) as ReportPage;
    }
    assert.deepEqual(seen.sort(), ['alpha:delivered', 'beta:delivered']);
    const table = await prism('status', workflowId);
    assert.match(table.stdout, /^targetCount: +2$/m);
    assert.match(table.stdout, /^done: +true$/m);

    const gone = await prism('unregister', 'beta');
    assert.match(gone.stdout, /unregistered beta/);
    const again = await prism('unregister', 'beta');
    assert.equal(again.code, 0);
    assert.match(again.stdout, /beta was not registered/);
  });

  it('send to a filter no identity matches: the multicast finishes and a warning says nothing was sent', async () => {
    const waited = await prism('send', '--filter', '{"team":"nobody"}', '--payload', 'x', '--wait');
    assert.equal(waited.code, 0, waited.stderr);
    assert.match(waited.stdout, /result: +0 targets/);
    assert.match(waited.stderr, new RegExp(`warning: no identity in registry "${registry}" matches the filter`));
    const fired = await prism('send', '--filter', '{"team":"nobody"}', '--payload', 'x');
    assert.equal(fired.code, 0, fired.stderr);
    assert.match(fired.stderr, /warning: no identity in registry .* matches the filter; nothing was sent/);
  });

  it('send --channel queue, then the consumer receives, acks, and finds its queue empty', async () => {
    const r = await prism('register', 'delta', '--metadata', '{"team":"q"}');
    assert.equal(r.code, 0, r.stderr);
    const sent = await prism(
      'send',
      '--filter',
      '{"team":"q"}',
      '--payload',
      'read me later',
      '--channel',
      'queue',
      '--wait',
    );
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stdout, /result: +1 targets, 1 delivered, 0 failed/);
    const peek = await prism('receive', 'delta', '--visibility-timeout', '1');
    assert.equal(peek.code, 0, peek.stderr);
    assert.match(peek.stdout, /message .* from multicast-registry-multicast-.*, delivery 1, text\/plain/);
    assert.match(peek.stdout, /payload: read me later/);
    assert.match(peek.stdout, /receipt: \S+/);
    // Not acked: back after its visibility timeout (1 ms), and this time acked.
    const taken = await prism('receive', 'delta', '--ack', '--wait', '2000');
    assert.equal(taken.code, 0, taken.stderr);
    assert.match(taken.stdout, /delivery 2/);
    assert.match(taken.stdout, /acked/);
    const empty = await prism('receive', 'delta');
    assert.match(empty.stdout, /\(0 messages\)/);
    assert.deepEqual(JSON.parse((await prism('receive', 'delta', '-o', 'json')).stdout), []);
  });

  it('bad arguments: usage and exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['send', '--payload', 'x'], /required option '--filter <json\|@file>' not specified/],
      [['send', '--filter', '{"a":{"$bad":1}}', '--payload', 'x'], /--filter: filter\.a\.\$bad: unknown operator/],
      [['send', '--filter', '{nope', '--payload', 'x'], /--filter: not valid JSON/],
      [['register'], /missing required argument 'identity'/],
      [['register', 'bad id!'], /identity: expected 1-128 letters/],
      [['frobnicate'], /unknown command 'frobnicate'/],
      [
        ['send', '--filter', '{}', '--payload', 'x', '--channel', 'pigeon'],
        /--channel <channel>' argument 'pigeon' is invalid\. Allowed choices are pubsub, queue, both/,
      ],
      [['receive', 'delta', '--max', 'ten'], /--max <n>' argument 'ten' is invalid\. expected a whole number/],
      [['ack', 'delta'], /missing required argument 'receipt'/],
      [['enumerate', '-o', 'yaml'], /argument 'yaml' is invalid\. Allowed choices are table, json/],
    ];
    for (const [args, expect] of cases) {
      const r = await prism(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, expect);
    }
  });
});
