// What every CLI command shares: its output channels, usage errors, and JSON input (inline or @file).
import { readFileSync } from 'node:fs';

/** Bad arguments: reported with the command's usage line, exit code 2. */
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

/** A JSON object argument (`--filter`, `--metadata`): anything else is a usage error naming the flag. */
export function parseJsonObject(text: string | undefined, field: string): Record<string, unknown> {
  const parsed = parseJsonInput(text, field);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`${field}: expected a JSON object`);
  }
  return parsed as Record<string, unknown>;
}
