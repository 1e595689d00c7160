// How read commands print: `-o table` (default) for people, `-o json` for scripts. With json,
// stdout carries exactly one JSON document; anything else a command has to say goes to stderr.
import { Option } from 'commander';
import type { Io } from './io';

export const OUTPUT_FORMATS = ['table', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function outputOption(): Option {
  return new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('table');
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return '-';
  if (value instanceof Date) return value.toISOString();
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** One record: `key: value` lines with the values aligned. */
export function recordLines(record: Record<string, unknown>): string[] {
  const keys = Object.keys(record);
  const width = Math.max(0, ...keys.map((k) => k.length)) + 1;
  return keys.map((k) => `${`${k}:`.padEnd(width)} ${cell(record[k])}`);
}

/** Rows under a header, columns padded to their widest cell. */
export function tableLines(columns: readonly string[], rows: readonly unknown[][]): string[] {
  const cells = [columns.map((c) => c.toUpperCase()), ...rows.map((r) => r.map(cell))];
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd(),
  );
}

/** Prints `value` as JSON, or the lines `table()` makes of it. */
export function print(io: Io, format: OutputFormat, value: unknown, table: () => string[]): void {
  if (format === 'json') io.out(JSON.stringify(value, null, 2));
  else for (const line of table()) io.out(line);
}
