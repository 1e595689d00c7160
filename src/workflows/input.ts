// Workflow input validation shared by clients (refuse before starting) and workflows (refuse
// before any work): a bad field is a non-retryable failure that names it.
import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';

export const INVALID_INPUT = 'InvalidInput';

export function describeIssues(error: z.ZodError, root = 'input'): string {
  return error.issues
    .map((issue) => {
      const path = [root, ...issue.path.map(String)].join('.');
      return `${path}: ${issue.message}`;
    })
    .join('; ');
}

/** Parses workflow input or throws a non-retryable ApplicationFailure of type InvalidInput. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw ApplicationFailure.nonRetryable(describeIssues(result.error), INVALID_INPUT);
  return result.data;
}
