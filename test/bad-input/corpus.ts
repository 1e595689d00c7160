// The bad-input corpus: JSON-lines files next to this one, one malformed input per line with the
// error it must produce. Small macros keep huge or deeply nested inputs readable in the files:
//   {"$repeat": "<text>", "times": n}   → the text repeated n times
//   {"$nest": n, "leaf": v, "key": k}   → {k: {k: … v}} nested n deep (key defaults to "a")
//   {"$bytes": "<base64>"}              → bytes (as in payloads)
//   {"$zeros": n}                       → n zero bytes
//   "$PREFIX"  inside a string           → this run's unique key prefix
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export type Kind = 'config' | 'cli' | 'workflow' | 'driver';

export interface CorpusEntry {
  kind: Kind;
  name: string;
  /** config: the config (object, or YAML text); cli: argv; workflow: the workflow input; driver: args. */
  input?: unknown;
  /** config only: the file's bytes, base64 (for invalid UTF-8). */
  input_base64?: string;
  /** workflow: the workflow type (default kvProbeWorkflow); driver: the operation. */
  target?: string;
  /** workflow: the pattern the workflow belongs to (default kv-probe). */
  pattern?: string;
  /** cli: the exit code (default 2, a usage error); driver: the DriverError code. */
  code?: number | string;
  /** driver: the memory driver's config. */
  driver_config?: Record<string, unknown>;
  /** A regular expression the error must match: it names the field or argument. */
  expect: string;
  file: string;
  line: number;
}

// The corpus lives in the source tree; tests run from dist/, so look in both.
export const CORPUS_DIR = [resolve(__dirname), resolve(__dirname, '../../../test/bad-input')].find((dir) =>
  readdirSync(dir).some((f) => f.endsWith('.jsonl')),
)!;

export function loadCorpus(dir = CORPUS_DIR): CorpusEntry[] {
  const entries: CorpusEntry[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()) {
    readFileSync(join(dir, file), 'utf8')
      .split('\n')
      .forEach((text, i) => {
        if (text.trim() === '' || text.startsWith('//')) return;
        const entry = JSON.parse(text) as Omit<CorpusEntry, 'file' | 'line'>;
        entries.push({ ...entry, file, line: i + 1 });
      });
  }
  return entries;
}

export function expand(value: unknown, prefix: string): unknown {
  if (typeof value === 'string') return value.split('$PREFIX').join(prefix);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => expand(v, prefix));
  const obj = value as Record<string, unknown>;
  if (typeof obj.$repeat === 'string' && typeof obj.times === 'number')
    return String(expand(obj.$repeat, prefix)).repeat(obj.times);
  if (typeof obj.$nest === 'number') {
    let out = expand(obj.leaf, prefix);
    const key = typeof obj.key === 'string' ? obj.key : 'a';
    for (let i = 0; i < obj.$nest; i++) out = { [key]: out };
    return out;
  }
  if (typeof obj.$bytes === 'string' && Object.keys(obj).length === 1) return Buffer.from(obj.$bytes, 'base64');
  if (typeof obj.$zeros === 'number' && Object.keys(obj).length === 1) return new Uint8Array(obj.$zeros);
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [expand(k, prefix) as string, expand(v, prefix)]));
}

export function label(entry: CorpusEntry): string {
  return `${entry.file}:${entry.line} ${entry.name}`;
}
