// `prism` as users get it: the build leaves package.json's bins executable (so `npx prism` works
// on a fresh clone after `npm install && npm run build`), and the packed package installed with
// `npm install -g` puts a working `prism` on the prefix's bin path.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';

const REPO = resolve(__dirname, '../../..');
const PACKAGE = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
};

/** Runs a command without a shell; resolves with its exit code and output. */
function run(
  command: string,
  args: string[],
  cwd: string,
  timeoutMs = 300_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const proc = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
  });
}

describe('installing prism', () => {
  it("the build leaves every bin executable, with a node shebang; npx prism runs the project's own", async () => {
    for (const [name, file] of Object.entries(PACKAGE.bin)) {
      const path = join(REPO, file);
      assert.equal(statSync(path).mode & 0o111, 0o111, `${name} (${file}) is executable`);
      assert.match(readFileSync(path, 'utf8'), /^#!\/usr\/bin\/env node\n/, `${name} starts with a shebang`);
    }
    const npx = await run('npx', ['--no-install', 'prism', '--version'], REPO);
    assert.equal(npx.code, 0, npx.stderr);
    assert.equal(npx.stdout.trim(), PACKAGE.version);
  });

  describe('npm install -g of the packed package', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prism-global-'));
    const prefix = join(dir, 'prefix');

    before(async () => {
      // dist/ is built already (the tests run from it); packing must not rebuild it.
      const packed = await run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], REPO);
      assert.equal(packed.code, 0, packed.stderr);
      const tarball = join(dir, packed.stdout.trim().split('\n').pop()!);
      const started = performance.now();
      const installed = await run(
        'npm',
        ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball],
        dir,
      );
      assert.equal(installed.code, 0, installed.stdout + installed.stderr);
      process.stdout.write(`# global install: ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    });

    after(() => rmSync(dir, { recursive: true, force: true }));

    it('prism --version and --help run from the prefix bin', async () => {
      const prism = join(prefix, 'bin', 'prism');
      const version = await run(prism, ['--version'], dir);
      assert.equal(version.code, 0, version.stderr);
      assert.equal(version.stdout.trim(), PACKAGE.version);
      const help = await run(prism, ['--help'], dir);
      assert.equal(help.code, 0, help.stderr);
      for (const command of ['start', 'describe', 'worker', 'multicast', 'saga', 'session', 'cdc', 'completion']) {
        assert.match(help.stdout, new RegExp(`^ {2}${command}\\b`, 'm'));
      }
      const usage = await run(prism, ['multicast', 'send'], dir);
      assert.equal(usage.code, 2, usage.stderr);
      assert.match(usage.stderr, /required option '--filter <json\|@file>' not specified/);
    });

    it('prism-worker is installed too', async () => {
      const r = await run(join(prefix, 'bin', 'prism-worker'), [], dir);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /--config/);
    });
  });
});
