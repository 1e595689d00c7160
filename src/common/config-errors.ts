// Config errors name the file, the field (as a dotted path) and what was expected.
import type { z } from 'zod';

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`invalid config ${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path.length === 0
    ? '(top level)'
    : path
        .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
        .join('.')
        .replace(/\.\[/g, '[');
}

export function zodProblems(error: z.ZodError, prefix: readonly PropertyKey[] = []): string[] {
  return error.issues.map((issue) => {
    // A bad record key ("Invalid key in record") carries the reason in its nested issues.
    const nested = 'issues' in issue && Array.isArray(issue.issues) ? (issue.issues as { message: string }[]) : [];
    const reason = nested.length > 0 ? `${issue.message}: ${nested.map((n) => n.message).join('; ')}` : issue.message;
    return `${formatPath([...prefix, ...issue.path])}: ${reason}`;
  });
}
