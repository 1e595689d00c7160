// Payload encryption end to end: a worker and a client with the codec; the history (read raw and
// with the `temporal` CLI) holds only ciphertext; the codec server decodes it for whoever holds
// the token; a key rotation keeps old executions readable; encrypted histories replay.
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { stringify } from 'yaml';
import { PrismClient } from '../../src/client/prism-client';
import { parseConfig } from '../../src/config/load';
import type { PrismConfig } from '../../src/config/schema';
import { codecFromConfig, ENCRYPTED_ENCODING, KEY_ID_METADATA } from '../../src/security/codec';
import { CodecServer, type JsonPayload } from '../../src/security/codec-server';
import { PAYLOAD_CONVERTER, PREBUILT_BUNDLE } from '../../src/runtime/workflow-bundle';
import { stackEnv, uniqueName } from '../helpers/env';
import {
  runProcess,
  startWorker,
  testConfig,
  waitFor,
  writeConfig,
  type WorkerProcess,
} from '../helpers/worker-process';
import { CLI_MAIN, historyPayloads, keyFile, skipped, TEMPORAL_CLI, tempDir, text } from './helpers';

const run = promisify(execFile);
const UI_ORIGIN = 'http://127.0.0.1:8233';
const K2_ENV = 'PRISM_TEST_CODEC_K2';

function workerConfig(taskQueue: string, codec: Record<string, unknown>): Record<string, unknown> {
  return {
    ...testConfig(taskQueue, {
      backends: { mem: { driver: 'memory' } },
      patterns: { 'kv-probe': { slots: { store: 'mem' }, activity: { retry: { maximum_attempts: 3 } } } },
    }),
    codec,
  };
}

/** Every proto-JSON payload in `temporal workflow show -o json` output (skipping as historyPayloads does). */
function jsonPayloads(value: unknown, out: JsonPayload[] = [], parentKey = ''): JsonPayload[] {
  if (value === null || typeof value !== 'object') return out;
  const maybe = value as JsonPayload;
  if (maybe.metadata && typeof maybe.metadata === 'object' && typeof maybe.metadata.encoding === 'string') {
    out.push(maybe);
    return out;
  }
  for (const [k, v] of Object.entries(value)) if (!skipped(k, parentKey)) jsonPayloads(v, out, k);
  return out;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString('utf8');

describe('encrypted payloads', () => {
  const taskQueue = uniqueName('security-codec');
  const dir = tempDir();
  const k1 = keyFile(dir, 'k1');
  const k2 = keyFile(dir, 'k2');
  const codecV1 = { enabled: true, keys: [{ id: 'k1', file: k1.file }], active_key_id: 'k1' };
  const codecV2 = {
    enabled: true,
    keys: [
      { id: 'k1', file: k1.file },
      { id: 'k2', env: K2_ENV },
    ],
    active_key_id: 'k2',
    server: { token: { env: 'PRISM_TEST_CODEC_TOKEN' } },
  };
  const secret = `plaintext-${uniqueName('secret')}`;
  const token = `tok-${uniqueName('codec')}`;
  let worker: WorkerProcess | undefined;
  let config1: PrismConfig;
  let client1: PrismClient;
  let firstId = '';

  before(async () => {
    process.env[K2_ENV] = k2.key.toString('hex');
    process.env.PRISM_TEST_CODEC_TOKEN = token;
    const raw = workerConfig(taskQueue, codecV1);
    config1 = parseConfig(stringify(raw));
    worker = await startWorker(raw);
    client1 = await PrismClient.connect({ config: config1, taskQueue });
  });

  after(async () => {
    await client1?.close();
    await worker?.stop();
  });

  it('the history holds only ciphertext, and the client still reads the result', async () => {
    const key = uniqueName('enc');
    const started = await client1.start('kvProbeWorkflow', [{ key, value: secret }], { pattern: 'kv-probe' });
    firstId = started.workflowId;
    const result = (await started.handle.result()) as { readBack: string };
    assert.equal(result.readBack, secret);

    const payloads = historyPayloads(await started.handle.fetchHistory());
    assert.ok(payloads.length >= 4, `input, slot bindings, activity inputs/results: ${payloads.length}`);
    for (const p of payloads) {
      assert.equal(text(p.metadata?.encoding), ENCRYPTED_ENCODING, JSON.stringify(p));
      assert.equal(text(p.metadata?.[KEY_ID_METADATA]), 'k1');
      assert.ok(!Buffer.from(p.data!).includes(secret), 'no payload contains the plaintext');
      assert.ok(!Buffer.from(p.data!).includes(key), 'not even the key');
    }
    process.stdout.write(`# ${payloads.length} payloads in the history, all ${ENCRYPTED_ENCODING}\n`);
  });

  it('`temporal workflow show -o json` shows ciphertext only', async () => {
    const { stdout } = await run(TEMPORAL_CLI, [
      'workflow',
      'show',
      '--address',
      stackEnv.temporalAddress,
      '--workflow-id',
      firstId,
      '--output',
      'json',
    ]);
    assert.ok(!stdout.includes(secret));
    const payloads = jsonPayloads(JSON.parse(stdout));
    assert.ok(payloads.length >= 4);
    for (const p of payloads) {
      assert.equal(unb64(p.metadata!.encoding), ENCRYPTED_ENCODING);
      assert.ok(!unb64(p.data).includes(secret));
    }
  });

  it('the codec server decodes a payload from the real history for the UI, with the token only', async () => {
    const { stdout } = await run(TEMPORAL_CLI, [
      'workflow',
      'show',
      '--address',
      stackEnv.temporalAddress,
      '--workflow-id',
      firstId,
      '--output',
      'json',
    ]);
    const input = jsonPayloads(JSON.parse(stdout))[0];
    const server = new CodecServer({
      codec: codecFromConfig(config1.codec),
      port: 0,
      corsOrigins: config1.codec.server.cors_origins,
      token,
    });
    const port = await server.start();
    const url = `http://127.0.0.1:${port}`;
    try {
      const post = (path: string, headers: Record<string, string>, body: unknown): Promise<Response> =>
        fetch(url + path, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default', ...headers },
          body: JSON.stringify(body),
        });
      const ok = await post('/decode', { Authorization: `Bearer ${token}`, Origin: UI_ORIGIN }, { payloads: [input] });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('access-control-allow-origin'), UI_ORIGIN);
      const decoded = ((await ok.json()) as { payloads: JsonPayload[] }).payloads[0];
      assert.equal(unb64(decoded.metadata!.encoding), 'json/plain');
      assert.equal((JSON.parse(unb64(decoded.data)) as { value: string }).value, secret);

      const noToken = await post('/decode', { Origin: UI_ORIGIN }, { payloads: [input] });
      assert.equal(noToken.status, 401);
      assert.ok(!(await noToken.text()).includes(secret));
      const wrongToken = await post('/decode', { Authorization: 'Bearer nope' }, { payloads: [input] });
      assert.equal(wrongToken.status, 401);

      const otherOrigin = await post(
        '/decode',
        { Authorization: `Bearer ${token}`, Origin: 'http://evil.example' },
        { payloads: [input] },
      );
      assert.equal(otherOrigin.headers.get('access-control-allow-origin'), null);

      const preflight = await fetch(`${url}/decode`, {
        method: 'OPTIONS',
        headers: {
          Origin: 'http://localhost:8233',
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'content-type,x-namespace,authorization',
        },
      });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get('access-control-allow-origin'), 'http://localhost:8233');
      assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /Authorization/);
      assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /POST/);

      // /encode then /decode round-trips; bad bodies are 400 with the field named.
      const plain = { metadata: { encoding: b64('json/plain') }, data: b64('"hello"') };
      const enc = await post('/encode', { Authorization: `Bearer ${token}` }, { payloads: [plain] });
      const encoded = ((await enc.json()) as { payloads: JsonPayload[] }).payloads[0];
      assert.equal(unb64(encoded.metadata!.encoding), ENCRYPTED_ENCODING);
      const back = await post('/decode', { Authorization: `Bearer ${token}` }, { payloads: [encoded] });
      assert.deepEqual(((await back.json()) as { payloads: JsonPayload[] }).payloads[0], plain);
      const bad = await post('/decode', { Authorization: `Bearer ${token}` }, { payloads: [{ data: 42 }] });
      assert.equal(bad.status, 400);
      assert.match(await bad.text(), /payloads\[0\]\.data: expected a base64 string/);
    } finally {
      await server.stop();
    }
  });

  it('an encrypted history replays deterministically with the codec', async () => {
    const history = await client1.handle(firstId).fetchHistory();
    await Worker.runReplayHistory(
      {
        workflowBundle: { codePath: PREBUILT_BUNDLE },
        dataConverter: { payloadConverterPath: PAYLOAD_CONVERTER, payloadCodecs: [codecFromConfig(config1.codec)] },
      },
      history,
    );
  });

  it('key rotation: new payloads use the new key, old executions stay readable', async () => {
    await worker!.stop();
    const raw = workerConfig(taskQueue, codecV2);
    const config2 = parseConfig(stringify(raw));
    worker = await startWorker(raw);
    const client2 = await PrismClient.connect({ config: config2, taskQueue });
    try {
      const started = await client2.start('kvProbeWorkflow', [{ key: uniqueName('rot'), value: 'after rotation' }], {
        pattern: 'kv-probe',
      });
      assert.equal(((await started.handle.result()) as { readBack: string }).readBack, 'after rotation');
      const ids = new Set(
        historyPayloads(await started.handle.fetchHistory()).map((p) => text(p.metadata?.[KEY_ID_METADATA])),
      );
      assert.deepEqual([...ids], ['k2']);
      // The execution from before the rotation still decodes: its payloads name k1.
      const old = (await client2.handle(firstId).result()) as { readBack: string };
      assert.equal(old.readBack, secret);
      // A client without k1 cannot read it, and the error names the key it lacks.
      const onlyK2 = await PrismClient.connect({
        taskQueue,
        config: parseConfig(
          stringify(workerConfig(taskQueue, { enabled: true, keys: [{ id: 'k2', env: K2_ENV }], active_key_id: 'k2' })),
        ),
      });
      try {
        await assert.rejects(onlyK2.handle(firstId).result(), /key "k1", which this codec does not have/);
      } finally {
        await onlyK2.close();
      }
    } finally {
      await client2.close();
    }
  });

  it('`PRISM_CONFIG=<file> prism start --wait` encrypts the input and decodes the result', async () => {
    const file = writeConfig(workerConfig(taskQueue, codecV2));
    const value = `cli-${uniqueName('secret')}`;
    const saved = process.env.PRISM_CONFIG;
    process.env.PRISM_CONFIG = file;
    const done = runProcess([
      CLI_MAIN,
      'start',
      'kvProbeWorkflow',
      '--input',
      JSON.stringify({ key: uniqueName('cli'), value }),
      '--wait',
    ]);
    if (saved === undefined) delete process.env.PRISM_CONFIG;
    else process.env.PRISM_CONFIG = saved;
    const { code, stdout, stderr } = await done;
    assert.equal(code, 0, stdout + stderr);
    assert.match(stdout, new RegExp(`"readBack":"${value}"`));
    const workflowId = /workflow id: (\S+)/.exec(stdout)![1];
    for (const p of historyPayloads(await client1.handle(workflowId).fetchHistory())) {
      assert.equal(text(p.metadata?.encoding), ENCRYPTED_ENCODING);
      assert.ok(!Buffer.from(p.data!).includes(value));
    }
  });

  it("`prism codec-server --config` serves the config's keys behind its token", async () => {
    const file = writeConfig(workerConfig(taskQueue, { ...codecV2, server: { ...codecV2.server, port: 0 } }));
    const proc = spawn(process.execPath, [CLI_MAIN, 'codec-server', '--config', file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
    try {
      const port = await waitFor(
        'the codec server',
        async () => /listening on http:\/\/[^:]+:(\d+)/.exec(output)?.[1],
        15_000,
      );
      const history = await client1.handle(firstId).fetchHistory();
      const payload = historyPayloads(history)[0];
      const body = JSON.stringify({
        payloads: [
          {
            metadata: Object.fromEntries(
              Object.entries(payload.metadata!).map(([k, v]) => [k, Buffer.from(v!).toString('base64')]),
            ),
            data: Buffer.from(payload.data!).toString('base64'),
          },
        ],
      });
      const res = await fetch(`http://127.0.0.1:${port}/decode`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body,
      });
      assert.equal(res.status, 200, output);
      const decoded = ((await res.json()) as { payloads: JsonPayload[] }).payloads[0];
      assert.ok(unb64(decoded.data).includes(secret));
      const denied = await fetch(`http://127.0.0.1:${port}/decode`, { method: 'POST', body });
      assert.equal(denied.status, 401);
      assert.ok(!output.includes(token), 'the token is not logged');
    } finally {
      proc.kill('SIGTERM');
      assert.equal(await exited, 0, output);
    }
  });
});
