// --wait on a task queue no worker polls: after a few seconds the CLI says so (on stderr, naming
// the queue), instead of waiting in silence.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { PrismClient } from '../../src/client/prism-client';
import { uniqueName } from '../helpers/env';
import { waitFor } from '../helpers/worker-process';
import { spawnCli } from './support';

describe('prism start --wait with no worker', () => {
  const taskQueue = uniqueName('cli-nobody');
  const workflowId = uniqueName('cli-unpolled');

  after(async () => {
    // Nobody will ever run it: end it rather than leave it on the shared server.
    const client = await PrismClient.connect({ taskQueue });
    await client
      .handle(workflowId)
      .terminate('test finished')
      .catch(() => undefined);
    await client.close();
  });

  it('warns that no worker polls the task queue', async () => {
    const waiting = spawnCli(
      ['start', 'kvProbeWorkflow', '--input', '{"key":"k","value":"v"}', '--id', workflowId, '--wait'],
      { ...process.env, PRISM_TASK_QUEUE: taskQueue },
    );
    try {
      await waitFor('the warning', async () => /warning: no worker/.test(waiting.stderr()), 60_000);
      assert.match(
        waiting.stderr(),
        new RegExp(`no worker is polling task queue "${taskQueue}" \\(namespace "default"\\)`),
      );
      assert.match(waiting.stdout(), new RegExp(`workflow id: ${workflowId}`));
      assert.equal(waiting.proc.exitCode, null, 'still waiting for the result');
    } finally {
      waiting.proc.kill('SIGKILL');
    }
  });
});
