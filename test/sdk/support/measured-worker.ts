// Starts a worker process under the module-recording preload and measures it: milliseconds from
// spawn to the first 200 from /ready, and its resident memory at that moment (Linux /proc).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeConfig } from '../../helpers/worker-process';

export const SDK_WORKER_MAIN = resolve(__dirname, '../fixtures/sdk-worker-main.js');
export const RECORD_PRELOAD = resolve(__dirname, '../fixtures/record-loaded-modules.js');

export interface MeasuredWorker {
  proc: ChildProcess;
  httpPort: number;
  readyMs: number;
  rssMiB: number;
  output: () => string;
  /** SIGTERM, wait for exit, then the modules the process loaded. */
  stop(): Promise<{ code: number | null; modules: string[] }>;
}

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

export async function startMeasuredWorker(config: unknown, modulesFile: string): Promise<MeasuredWorker> {
  const file = writeConfig(config);
  const started = performance.now();
  const proc = spawn(process.execPath, ['--require', RECORD_PRELOAD, SDK_WORKER_MAIN, '--config', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PRISM_TEST_LOADED_MODULES: modulesFile },
  });
  let output = '';
  proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  const deadline = Date.now() + 60_000;
  let httpPort = 0;
  let readyMs = 0;
  while (Date.now() < deadline && !readyMs) {
    const match = /"http":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(output);
    if (match) {
      httpPort = Number(match[1]);
      const ok = await fetch(`http://127.0.0.1:${httpPort}/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) readyMs = performance.now() - started;
    }
    if (proc.exitCode !== null) throw new Error(`worker exited early (${proc.exitCode}):\n${output}`);
    if (!readyMs) await new Promise((r) => setTimeout(r, 10));
  }
  if (!readyMs) {
    proc.kill('SIGKILL');
    throw new Error(`worker not ready in time:\n${output}`);
  }
  const rss = rssMiB(proc.pid!);
  return {
    proc,
    httpPort,
    readyMs,
    rssMiB: rss,
    output: () => output,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const code = await exited;
      return { code, modules: readFileSync(modulesFile, 'utf8').split('\n').filter(Boolean) };
    },
  };
}

/** Whether a package (by name) appears among loaded module paths. */
export function loadedPackage(modules: readonly string[], pkg: string): boolean {
  const marker = join('node_modules', pkg) + '/';
  return modules.some((m) => m.includes(marker));
}
