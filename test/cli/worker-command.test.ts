// prism worker: runs the worker of a config, with --task-queue (like --address and --namespace)
// winning over the config's temporal section; a workflow started on that queue completes; SIGTERM
// drains it and exits 0.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { uniqueName } from '../helpers/env';
import { runProcess, testConfig, waitFor, writeConfig } from '../helpers/worker-process';
import { CLI, spawnCli } from './support';

describe('prism worker', () => {
  it('--task-queue wins over the config; the worker runs workflows there and drains on SIGTERM', async () => {
    const configured = uniqueName('cli-config-queue');
    const flagged = uniqueName('cli-flag-queue');
    const file = writeConfig(
      testConfig(configured, {
        backends: { mem: { driver: 'memory' } },
        patterns: { 'kv-probe': { slots: { store: 'mem' } } },
      }),
    );
    const worker = spawnCli(['worker', '--config', file, '--task-queue', flagged]);
    const output = () => worker.stdout() + worker.stderr();
    try {
      await waitFor('the worker running', async () => output().includes('"msg":"worker running"'), 60_000);
      const r = await runProcess([
        CLI,
        'start',
        'kvProbeWorkflow',
        '--input',
        '{"key":"k","value":"v"}',
        '--wait',
        '--task-queue',
        flagged,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /result: +\{"key":"k","written":"v","readBack":"v","backend":"mem"\}/);
      assert.ok(output().includes(flagged), 'the worker logs the queue it polls');
      assert.ok(!output().includes(configured), "the config's queue is not polled");
    } finally {
      worker.proc.kill('SIGTERM');
    }
    assert.equal(await worker.exited, 0, output());
  });
});
