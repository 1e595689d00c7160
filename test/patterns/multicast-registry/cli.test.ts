// prism multicast from the command line: register, enumerate, send --wait (progress and the UI
// link), unregister; send --channel queue then receive --ack; bad arguments are usage errors.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { uniqueName } from '../../helpers/env';
import { DIST_ROOT, runProcess, startWorker, type WorkerProcess } from '../../helpers/worker-process';
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
    assert.match(listed.stdout, /^alpha\t\{"team":"a"\}/m);
    assert.match(listed.stdout, /^beta\t/m);
    assert.doesNotMatch(listed.stdout, /gamma/);

    const sent = await prism('send', '--filter', '{"team":"a"}', '--payload', 'hi', '--wait');
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stdout, /workflow id: multicast-registry-multicast-/);
    assert.match(sent.stdout, /ui: +http:\/\/.*\/namespaces\/default\/workflows\/multicast-registry-multicast-/);
    assert.match(sent.stdout, /progress: +2\/2 accounted \(delivered 2, failed 0, pending 0\)/);
    assert.match(sent.stdout, /result: +2 targets, 2 delivered, 0 failed/);

    const gone = await prism('unregister', 'beta');
    assert.match(gone.stdout, /unregistered beta/);
    const again = await prism('unregister', 'beta');
    assert.equal(again.code, 0);
    assert.match(again.stdout, /beta was not registered/);
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
  });

  it('bad arguments: usage and exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['send', '--payload', 'x'], /--filter is required/],
      [['send', '--filter', '{"a":{"$bad":1}}', '--payload', 'x'], /--filter: filter\.a\.\$bad: unknown operator/],
      [['send', '--filter', '{nope', '--payload', 'x'], /--filter: not valid JSON/],
      [['register'], /takes exactly one identity/],
      [['register', 'bad id!'], /identity: expected 1-128 letters/],
      [['frobnicate'], /unknown multicast subcommand/],
      [
        ['send', '--filter', '{}', '--payload', 'x', '--channel', 'pigeon'],
        /--channel: expected one of pubsub, queue, both/,
      ],
      [['receive', 'delta', '--max', 'ten'], /--max: expected a whole number/],
      [['ack', 'delta'], /takes exactly one identity and one receipt/],
    ];
    for (const [args, expect] of cases) {
      const r = await prism(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, expect);
    }
  });
});
