// Runs a real worker as a child process (so tests can SIGTERM or SIGKILL it) with a config
// written to a temporary file.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';

export const DIST_ROOT = resolve(__dirname, '../..');
export const WORKER_MAIN = join(DIST_ROOT, 'src/worker.js');

export interface WorkerProcess {
  proc: ChildProcess;
  httpPort: number;
  output: () => string;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function writeConfig(config: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'prism-test-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, typeof config === 'string' ? config : stringify(config));
  return file;
}

/** Starts `node <main> --config <file>` and waits until its /ready answers. */
export async function startWorker(
  config: unknown,
  options: { main?: string; readyTimeoutMs?: number; env?: Record<string, string> } = {},
): Promise<WorkerProcess> {
  const file = writeConfig(config);
  const proc = spawn(process.execPath, [options.main ?? WORKER_MAIN, '--config', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  let output = '';
  proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  let httpPort = 0;
  while (Date.now() < deadline) {
    const match = /"http":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(output);
    if (match) {
      httpPort = Number(match[1]);
      const ready = await fetch(`http://127.0.0.1:${httpPort}/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) break;
    }
    if (proc.exitCode !== null) throw new Error(`worker exited early (${proc.exitCode}):\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  if (!httpPort) {
    proc.kill('SIGKILL');
    throw new Error(`worker not ready in time:\n${output}`);
  }
  return {
    proc,
    httpPort,
    output: () => output,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** Runs a command to completion and returns its exit code and output. */
export function runProcess(
  args: string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const proc = spawn(process.execPath, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
  });
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A worker config on the local stack with its own task queue, so tests never share work. */
export function testConfig(
  taskQueue: string,
  overrides: { backends: Record<string, unknown>; patterns: Record<string, unknown>; worker?: Record<string, unknown> },
): Record<string, unknown> {
  return {
    temporal: { address: process.env.PRISM_TEMPORAL_ADDRESS ?? '127.0.0.1:7233', task_queue: taskQueue },
    worker: { http_port: 0, temporal_metrics_port: 0, shutdown_grace_time: '10s', ...overrides.worker },
    backends: overrides.backends,
    patterns: overrides.patterns,
    logging: { level: 'info' },
  };
}
