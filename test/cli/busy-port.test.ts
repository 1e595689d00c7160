// A port someone else holds is named, with the setting that chose it: `prism worker` (its http
// port, worker.http_port) and `prism codec-server` (codec.server.port or --port). Exit 1.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { uniqueName } from '../helpers/env';
import { keyFile, tempDir } from '../security/helpers';
import { runProcess, testConfig, writeConfig } from '../helpers/worker-process';
import { CLI } from './support';

describe('a taken port', () => {
  let holder: Server;
  let port = 0;

  before(async () => {
    holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
    port = (holder.address() as { port: number }).port;
  });

  after(async () => {
    await new Promise<void>((r) => holder.close(() => r()));
  });

  const config = (extra: Record<string, unknown>) =>
    writeConfig({
      ...testConfig(uniqueName('cli-port'), {
        backends: { mem: { driver: 'memory' } },
        patterns: { 'kv-probe': { slots: { store: 'mem' } } },
        worker: { http_port: port },
      }),
      ...extra,
    });

  it('prism worker names its http port', async () => {
    const r = await runProcess([CLI, 'worker', '--config', config({})]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 \\(worker\\.http_port\\) is already in use`));
  });

  it('prism codec-server names its port, from the config or from --port', async () => {
    const key = keyFile(tempDir(), 'k1');
    const codec = (server: Record<string, unknown>) => ({
      codec: { enabled: true, keys: [{ id: 'k1', file: key.file }], active_key_id: 'k1', server },
    });
    const fromConfig = await runProcess([CLI, 'codec-server', '--config', config(codec({ port }))]);
    assert.equal(fromConfig.code, 1, fromConfig.stdout + fromConfig.stderr);
    assert.match(
      fromConfig.stderr,
      new RegExp(`port ${port} on 127\\.0\\.0\\.1 \\(codec\\.server\\.port\\) is already in use`),
    );
    const fromFlag = await runProcess([CLI, 'codec-server', '--config', config(codec({})), '--port', String(port)]);
    assert.equal(fromFlag.code, 1, fromFlag.stdout + fromFlag.stderr);
    assert.match(fromFlag.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 \\(--port\\) is already in use`));
  });
});
