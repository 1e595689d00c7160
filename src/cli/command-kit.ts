// How a command's action runs: it returns its exit code (0 when it returns nothing); a UsageError it
// throws is reported like commander's own usage errors (the command's usage line, exit code 2).
import type { Command } from 'commander';
import { UsageError, type Io } from './io';

export interface CliContext {
  io: Io;
  /** What the process exits with once the action returned. */
  exitCode: number;
}

export const USAGE_ERROR_EXIT = 2;

export type Action = (command: Command) => Promise<number | void>;

/** Wraps an action for `command.action(...)`: commander passes the command itself last. */
export function act(context: CliContext, action: Action): (...args: unknown[]) => Promise<void> {
  return async (...args) => {
    const command = args[args.length - 1] as Command;
    try {
      const code = await action(command);
      if (typeof code === 'number') context.exitCode = code;
    } catch (err) {
      if (err instanceof UsageError) command.error(err.message, { exitCode: USAGE_ERROR_EXIT, code: 'prism.usage' });
      throw err;
    }
  };
}

/** `prism multicast send`: the command's name with its parents'. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** The `Example:` block of a command's help. */
export function examples(...lines: string[]): string {
  return `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  $ ${l}`).join('\n')}`;
}
