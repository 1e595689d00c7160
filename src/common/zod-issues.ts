// One line per zod issue, each starting with its field's path under a root the reader knows
// (`input.tables.0: …`, `--input.pipeline: …`): the error names the field to fix.
import type { z } from 'zod';

export function issueLines(error: z.ZodError, root = 'input'): string[] {
  return error.issues.map((issue) => `${[root, ...issue.path.map(String)].join('.')}: ${issue.message}`);
}

export function describeIssues(error: z.ZodError, root = 'input'): string {
  return issueLines(error, root).join('; ');
}
