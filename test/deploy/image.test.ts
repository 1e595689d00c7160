// The worker's container image (Dockerfile, built by scripts/image): at most 200 MB, runs as a
// non-root user on a read-only root file system, ships every built-in driver's client library,
// and its worker, configured by a mounted YAML file with a secret from the environment,
// completes a workflow against the running stack.
//
// Building the image takes minutes (podman/buildah from Debian, a debootstrap base, npm ci), so
// the test command does not build it: this file skips, saying why, unless the image is built.
//   scripts/image build && node --test dist/test/deploy/image.test.js
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Redis from 'ioredis';
import { PrismClient } from '../../src/client/prism-client';
import { stackEnv, uniqueName } from '../helpers/env';
import { waitFor, writeConfig } from '../helpers/worker-process';

const ROOT = resolve(__dirname, '../../..');
const IMAGE_SCRIPT = join(ROOT, 'scripts/image');
// scripts/image builds and runs this tag (PRISM_IMAGE overrides it there and here).
const IMAGE = process.env.PRISM_IMAGE ?? 'localhost/prism-worker:dev';
const MAX_IMAGE_BYTES = 200_000_000;
const NONROOT_UID = 65532;
// From this file's private port range (16750-16799): the container shares the host's network.
const HTTP_PORT = 16751;

function image(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(IMAGE_SCRIPT, args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function skipReason(): string | undefined {
  for (const tool of ['podman', 'buildah']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
      return `${tool} is not installed: scripts/image build installs it and builds the image (minutes; not part of the test command)`;
  }
  if (image(['podman', 'image', 'exists', IMAGE]).code !== 0)
    return 'the image is not built in this checkout: run scripts/image build first (minutes; not part of the test command)';
  return undefined;
}

const skip = skipReason();

describe('container image', () => {
  const taskQueue = uniqueName('image');
  const container = uniqueName('prism-image-test');
  let proc: ChildProcess;
  let output = '';
  let exited: Promise<number | null>;
  let client: PrismClient;
  let redis: Redis;

  before(async () => {
    if (skip) return;
    const config = writeConfig({
      temporal: { address: stackEnv.temporalAddress, task_queue: taskQueue },
      worker: { http_port: HTTP_PORT, temporal_metrics_port: 0, shutdown_grace_time: '10s' },
      // A secret reference: the URL reaches the container as an environment variable.
      backends: { cache: { driver: 'redis', config: { url: { env: 'PRISM_REDIS_URL' } } } },
      patterns: { 'kv-probe': { slots: { store: 'cache' } } },
    });
    // --read-only: the root file system as the Helm chart mounts it (readOnlyRootFilesystem).
    proc = spawn(
      IMAGE_SCRIPT,
      ['run', '--name', container, '--read-only', '-e', `PRISM_REDIS_URL=${stackEnv.redisUrl}`],
      { cwd: ROOT, env: { ...process.env, PRISM_CONFIG: config }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    exited = new Promise((res) => proc.once('exit', (code) => res(code)));
    await waitFor(
      `the containerised worker's /ready on port ${HTTP_PORT}`,
      async () => {
        if (proc.exitCode !== null) throw new Error(`container exited early (${proc.exitCode}):\n${output}`);
        return fetch(`http://127.0.0.1:${HTTP_PORT}/ready`).then(
          (r) => r.ok,
          () => false,
        );
      },
      90_000,
    );
    client = await PrismClient.connect({ taskQueue });
    redis = new Redis(stackEnv.redisUrl);
  });

  after(async () => {
    await client?.close();
    redis?.disconnect();
    if (proc && proc.exitCode === null) {
      image(['podman', 'rm', '--force', '--time', '5', container]);
      await exited;
    }
  });

  it('is at most 200 MB', { skip }, () => {
    const { code, stdout, stderr } = image(['size']);
    assert.equal(code, 0, stderr);
    const bytes = Number(stdout.trim());
    assert.ok(bytes > 0 && bytes <= MAX_IMAGE_BYTES, `image size ${bytes} bytes, limit ${MAX_IMAGE_BYTES}`);
  });

  it('runs the worker as the non-root user 65532', { skip }, () => {
    const { code, stdout, stderr } = image([
      'podman',
      'exec',
      container,
      'node',
      '-p',
      'require("fs").readFileSync("/proc/1/status", "utf8")',
    ]);
    assert.equal(code, 0, stderr);
    // PID 1 is the worker itself (the image's entrypoint): real, effective, saved and fs uid.
    assert.match(
      stdout,
      new RegExp(`^Uid:\\s+${NONROOT_UID}\\s+${NONROOT_UID}\\s+${NONROOT_UID}\\s+${NONROOT_UID}$`, 'm'),
    );
    assert.match(stdout, /^Name:\s+node$/m);
    const inspect = image(['podman', 'image', 'inspect', '--format', '{{.Config.User}}', IMAGE]);
    assert.equal(inspect.stdout.trim(), `${NONROOT_UID}:${NONROOT_UID}`);
  });

  it("ships every built-in driver's client library (the package's optional peer dependencies)", { skip }, () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { peerDependencies: object };
    const modules = Object.keys(pkg.peerDependencies);
    assert.ok(modules.includes('ioredis') && modules.includes('pg') && modules.includes('kafkajs'));
    const script = `for (const m of ${JSON.stringify(modules)}) require(m); console.log('loaded', ${modules.length})`;
    const { code, stdout, stderr } = image(['run', '--entrypoint', 'node', '--', '-e', script]);
    assert.equal(code, 0, stderr);
    assert.equal(stdout.trim(), `loaded ${modules.length}`);
  });

  it('completes a kv-probe workflow through the stack, and /health is OK', { skip }, async () => {
    const key = uniqueName('image-probe');
    const started = await client.start('kvProbeWorkflow', [{ key, value: 'from a container' }], {
      pattern: 'kv-probe',
    });
    const result = await started.handle.result();
    assert.deepEqual(result, { key, written: 'from a container', readBack: 'from a container', backend: 'cache' });
    assert.equal(await redis.get(key), 'from a container');
    await redis.del(key);
    const health = await fetch(`http://127.0.0.1:${HTTP_PORT}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'OK', openBreakers: [] });
  });

  it('drains on SIGTERM (podman stop) and exits 0', { skip }, async () => {
    const stop = image(['podman', 'stop', '--time', '20', container]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(await exited, 0, output);
    assert.match(output, /"msg":"worker stopped".*"exitCode":0/);
  });
});
