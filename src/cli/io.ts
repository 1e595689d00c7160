// What every CLI command shares: its output channels, usage errors, and JSON input (inline or @file).
import { readFileSync } from 'node:fs';

export class UsageError extends Error {}

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const defaultIo: Io = {
  out: (t) => process.stdout.write(t + '\n'),
  err: (t) => process.stderr.write(t + '\n'),
};

export function parseJsonInput(text: string | undefined, field = '--input'): unknown {
  if (text === undefined) return {};
  let source = text;
  if (text.startsWith('@')) {
    try {
      source = readFileSync(text.slice(1), 'utf8');
    } catch (err) {
      throw new UsageError(`${field}: cannot read ${text.slice(1)}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  try {
    return JSON.parse(source);
  } catch (err) {
    throw new UsageError(`${field}: not valid JSON (${(err as Error).message})`);
  }
}

/** A subcommand: gets its arguments, prints through io, returns the exit code (2 for usage errors). */
export type Command = (args: string[], io: Io) => Promise<number>;
