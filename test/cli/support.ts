// What the CLI tests share: the built binary, an in-process runner that captures output (as fast
// as a function call, for the many help and usage cases), and the command tree to iterate.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Command } from 'commander';
import { run } from '../../src/cli/main';
import { buildProgram } from '../../src/cli/program';
import { DIST_ROOT } from '../helpers/worker-process';

export const CLI = join(DIST_ROOT, 'src/cli/main.js');

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `prism <argv>` in this process through the same run() the binary calls. */
export async function prismInProcess(argv: string[]): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, { out: (t) => (stdout += t + '\n'), err: (t) => (stderr += t + '\n') });
  return { code, stdout, stderr };
}

export interface TreeNode {
  /** The words after `prism`: [] for the program, ['multicast', 'send'] for a subcommand. */
  path: string[];
  command: Command;
}

/** Every command of the tree, the program first, parents before their subcommands. */
export function commandTree(): TreeNode[] {
  const nodes: TreeNode[] = [];
  const walk = (command: Command, path: string[]): void => {
    nodes.push({ path, command });
    for (const child of command.commands) walk(child, [...path, child.name()]);
  };
  walk(buildProgram({ io: { out: () => undefined, err: () => undefined }, exitCode: 0 }), []);
  return nodes;
}

export const label = (path: string[]): string => ['prism', ...path].join(' ');

export interface RunningCli {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts `prism <argv>` as a process that keeps running (a worker, a --wait), output captured. */
export function spawnCli(argv: string[], env: NodeJS.ProcessEnv = process.env): RunningCli {
  const proc = spawn(process.execPath, [CLI, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  return { proc, stdout: () => stdout, stderr: () => stderr, exited };
}
