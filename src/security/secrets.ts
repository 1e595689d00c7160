// Secret references in the config: any value may be `{ env: NAME }` or `{ file: PATH }` instead of
// the literal, resolved at start-up. Resolved values are registered for scrubbing and never appear
// in error messages (errors name the field and the variable or file, not the value).
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { formatPath } from '../common/config-errors';
import { registerSecret, REDACTED, scrubText } from '../common/secret-registry';

export const secretRefSchema = z.union([
  z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name') }),
  z.strictObject({ file: z.string().min(1) }),
]);
export type SecretRef = z.output<typeof secretRefSchema>;

/** A config value that is either a literal string or a reference to one. */
export const secretStringSchema = z.union([z.string().min(1), secretRefSchema]);
export type SecretString = z.output<typeof secretStringSchema>;

export class SecretError extends Error {
  constructor(readonly problems: string[]) {
    super(`cannot resolve secrets:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SecretError';
  }
}

export function isSecretRef(value: unknown): value is SecretRef {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  if (keys.length !== 1) return false;
  const v = (value as Record<string, unknown>)[keys[0]];
  return (keys[0] === 'env' || keys[0] === 'file') && typeof v === 'string';
}

/** Reads one reference; throws a message naming the field and the source, never the value. */
export function resolveSecretRef(ref: SecretRef, field: string, env: NodeJS.ProcessEnv = process.env): string {
  let value: string;
  if ('env' in ref) {
    const found = env[ref.env];
    if (found === undefined || found === '')
      throw new SecretError([`${field}: environment variable ${ref.env} is not set`]);
    value = found;
  } else {
    try {
      // A trailing newline from `echo secret > file` is not part of the secret.
      value = readFileSync(ref.file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new SecretError([
        `${field}: cannot read secret file ${ref.file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      ]);
    }
    if (value === '') throw new SecretError([`${field}: secret file ${ref.file} is empty`]);
  }
  registerSecret(value);
  return value;
}

export function resolveSecretString(value: SecretString, field: string, env?: NodeJS.ProcessEnv): string {
  return typeof value === 'string' ? value : resolveSecretRef(value, field, env);
}

/**
 * A copy of `value` with every secret reference inside it replaced by the value it names.
 * All problems are collected, so a config with three missing variables names all three.
 */
export function resolveSecretRefs(
  value: unknown,
  path: readonly PropertyKey[] = [],
  env: NodeJS.ProcessEnv = process.env,
): unknown {
  const problems: string[] = [];
  const walk = (v: unknown, p: readonly PropertyKey[], depth: number): unknown => {
    if (isSecretRef(v)) {
      try {
        return resolveSecretRef(v, formatPath(p), env);
      } catch (err) {
        problems.push(...(err instanceof SecretError ? err.problems : [(err as Error).message]));
        return undefined;
      }
    }
    if (depth > 32 || v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map((item, i) => walk(item, [...p, i], depth + 1));
    return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item, [...p, k], depth + 1)]));
  };
  const out = walk(value, path, 0);
  if (problems.length > 0) throw new SecretError(problems);
  return out;
}

const SECRET_FIELD = /pass(word)?$|secret|token|(^|_)key$|^key$|credential|authorization|private/i;

/** Whether a field of this name holds a secret when given literally. */
export function isSecretFieldName(name: string): boolean {
  return SECRET_FIELD.test(name);
}

/**
 * A copy of a config fit for printing: references stay (they name a variable or file, not the
 * secret), literal values of secret-named fields and passwords inside URLs are redacted.
 */
export function redactConfig(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (depth > 32 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactConfig(v, depth + 1));
  if (isSecretRef(value)) return { ...value };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      isSecretFieldName(k) && (typeof v === 'string' || typeof v === 'number') ? REDACTED : redactConfig(v, depth + 1);
  }
  return out;
}
