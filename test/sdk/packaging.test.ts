// Packaging: `npm pack` → install into an empty scratch project → the project's own TypeScript
// (a pattern via `prism-patterns`, a workflow via `prism-patterns/workflow`) compiles against our
// types → its worker runs its pattern on the local stack → its client gets the workflow's result.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { uniqueName } from '../helpers/env';
import { runProcess, startWorker, testConfig, type WorkerProcess } from '../helpers/worker-process';

const REPO = resolve(__dirname, '../../..');
const TEMPLATE = join(REPO, 'test/sdk/scratch-project');

/** Runs a shell-less command (npm, npx) and resolves with its output; rejects on a non-zero exit. */
function run(command: string, args: string[], cwd: string, timeoutMs = 300_000): Promise<string> {
  return new Promise((res, rej) => {
    const proc = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
    let output = '';
    proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) res(output);
      else rej(new Error(`${command} ${args.join(' ')} exited ${code}:\n${output}`));
    });
  });
}

describe('packaging: the npm tarball in a scratch project', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prism-pack-'));
  const scratch = join(dir, 'scratch');
  let tarball = '';
  let worker: WorkerProcess | undefined;

  before(async () => {
    // dist/ is built already (the tests run from it); packing must not rebuild it.
    const packed = await run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], REPO);
    tarball = join(dir, packed.trim().split('\n').pop()!);
    mkdirSync(join(scratch, 'src'), { recursive: true });
    await run('npm', ['init', '-y'], scratch);
    const started = performance.now();
    await run(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        tarball,
        'zod@^4',
        'typescript@^5.9',
        '@types/node@^20',
      ],
      scratch,
    );
    process.stdout.write(`# scratch install: ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    copyFileSync(join(TEMPLATE, 'tsconfig.json'), join(scratch, 'tsconfig.json'));
    for (const file of readdirSync(join(TEMPLATE, 'src'))) {
      copyFileSync(join(TEMPLATE, 'src', file), join(scratch, 'src', file.replace(/\.txt$/, '')));
    }
  });

  after(async () => {
    await worker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ships the built entries and no sources or tests', async () => {
    const listing = await run('tar', ['tzf', tarball], dir);
    const files = listing.trim().split('\n');
    for (const entry of [
      'package/dist/src/index.js',
      'package/dist/src/index.d.ts',
      'package/dist/src/workflow.js',
      'package/dist/src/workflow.d.ts',
      'package/dist/src/worker.js',
      'package/dist/workflow-bundle.js',
      'package/dist/src/drivers/nats/index.js',
    ]) {
      assert.ok(files.includes(entry), `${entry} is in the tarball`);
    }
    assert.equal(files.filter((f) => f.startsWith('package/src/') || f.startsWith('package/dist/test/')).length, 0);
  });

  it("the scratch project's TypeScript compiles against the package's types", async () => {
    const tsc = join(scratch, 'node_modules/typescript/bin/tsc');
    const result = await runProcess([tsc, '-p', scratch], { cwd: scratch, timeoutMs: 300_000 });
    assert.equal(result.code, 0, result.stdout + result.stderr);
  });

  it("the scratch project's worker runs its own pattern to a completed workflow, writing nothing into the package", async () => {
    const taskQueue = uniqueName('sdk-scratch');
    const installed = join(scratch, 'node_modules', 'prism-patterns');
    const filesBefore = readdirSync(installed, { recursive: true }).map(String).sort();
    worker = await startWorker(
      testConfig(taskQueue, {
        backends: { mem: { driver: 'memory' }, copy: { driver: 'memory' } },
        patterns: { tally: { slots: { counters: 'mem', mirrors: ['copy'] } } },
      }),
      { main: join(scratch, 'dist/worker.js'), readyTimeoutMs: 120_000 },
    );
    const result = await runProcess([join(scratch, 'dist/start.js'), taskQueue, uniqueName('tally')], { cwd: scratch });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { total: 15, stored: '15', mirrored: ['copy'] });
    assert.equal(await worker.stop(), 0);
    worker = undefined;
    // Its own workflows were bundled at start-up: the combined entry went to a temporary folder.
    assert.deepEqual(readdirSync(installed, { recursive: true }).map(String).sort(), filesBefore);
  });

  it('the subpath driver entries load on their own', async () => {
    const script =
      "const { redisDriver } = require('prism-patterns/drivers/redis');" +
      "const { natsDriver } = require('prism-patterns/drivers/nats');" +
      "const { DriverRegistry } = require('prism-patterns');" +
      'const r = new DriverRegistry().register(redisDriver).register(natsDriver);' +
      'const heavy = Object.keys(require.cache).filter((f) => /node_modules\\/(ioredis|pg|kafkajs|@nats-io)\\//.test(f));' +
      'process.stdout.write(JSON.stringify({ names: r.names(), heavy }));';
    const result = await runProcess(['-e', script], { cwd: scratch });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { names: ['nats', 'redis'], heavy: [] });
  });
});
