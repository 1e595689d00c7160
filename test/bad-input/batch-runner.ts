// Runs many worker starts and CLI invocations in one process (a process per entry costs about a
// second of CPU each on CI): the same entry points the binaries run — worker `main()` and the
// CLI's `run()` — with their exit code and everything they wrote captured per task.
//   node batch-runner.js <tasks.json>   → one JSON array of results on stdout
import { readFileSync } from 'node:fs';
import { run as cliRun } from '../../src/cli/main';
import { main as workerMain } from '../../src/worker';

export type BatchTask = { kind: 'config'; file: string } | { kind: 'cli'; argv: string[] };
export interface BatchResult {
  code: number | 'crash' | 'timeout';
  output: string;
}

const TASK_TIMEOUT_MS = 20_000;

async function runTask(task: BatchTask): Promise<BatchResult> {
  let output = '';
  const capture = (chunk: unknown): boolean => {
    output += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    return true;
  };
  const stdout = process.stdout.write.bind(process.stdout);
  const stderr = process.stderr.write.bind(process.stderr);
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  const io = { out: (t: string) => capture(t + '\n'), err: (t: string) => capture(t + '\n') };
  try {
    const work = task.kind === 'config' ? workerMain(['--config', task.file]) : cliRun(task.argv, io);
    const timeout = new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), TASK_TIMEOUT_MS).unref());
    const code = await Promise.race([work, timeout]);
    return { code, output };
  } catch (err) {
    return { code: 'crash', output: `${output}\nCRASH ${(err as Error).stack ?? String(err)}` };
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
  }
}

async function runAll(file: string): Promise<void> {
  const tasks = JSON.parse(readFileSync(file, 'utf8')) as BatchTask[];
  const results: BatchResult[] = [];
  for (const task of tasks) results.push(await runTask(task));
  process.stdout.write(JSON.stringify(results));
  // A task that timed out left a worker running; this process has done its job.
  process.exit(0);
}

if (require.main === module) void runAll(process.argv[2]);
