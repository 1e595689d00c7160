// Workflow input validation shared by clients (refuse before starting) and workflows (refuse
// before any work): a bad field is a non-retryable failure that names it.
import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';
import { describeIssues } from '../common/zod-issues';

export { describeIssues };

export const INVALID_INPUT = 'InvalidInput';

/** Parses workflow input or throws a non-retryable ApplicationFailure of type InvalidInput. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw ApplicationFailure.nonRetryable(describeIssues(result.error), INVALID_INPUT);
  return result.data;
}
