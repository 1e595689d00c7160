// A workflow's input checked before the workflow starts (by `prism start`, or a user's client):
// the same rules the workflow applies when it runs, so a bad field is refused with its name
// instead of starting a run that fails at once.
import type { z } from 'zod';
import { issueLines } from '../common/zod-issues';

/** Problems with an input, each starting with its field under `root` (`--input.tables: …`); none when valid. */
export type InputCheck = (input: unknown, root: string) => string[];

/** The check of an input described by a zod schema (the one the workflow parses with). */
export function schemaCheck(schema: z.ZodType): InputCheck {
  return (input, root) => {
    const parsed = schema.safeParse(input);
    return parsed.success ? [] : issueLines(parsed.error, root);
  };
}
