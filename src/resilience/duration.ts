// Durations in resilience config: "500ms", "5s", "2m", "1h", compounds such as "1m30s", or a
// number of milliseconds. Parsed values are always milliseconds.
import { z } from 'zod';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const HINT = 'expected a duration like 500ms, 5s, 2m (or a number of milliseconds)';

/** Parses a duration into milliseconds; throws an Error with a clear message otherwise. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new Error(`${HINT}, got ${String(value)}`);
    return value;
  }
  // `typeof` guards the JS callers that pass something else at run time.
  const text = typeof value === 'string' ? value.trim() : '';
  if (text === '' || !WHOLE.test(text)) throw new Error(`${HINT}, got ${JSON.stringify(value)}`);
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(PART)) ms += Number(amount) * UNIT_MS[unit];
  return Math.round(ms);
}

/** A zod schema for a duration field: accepts a string or milliseconds, outputs milliseconds. */
export const durationSchema = z.union([z.string(), z.number()]).transform((value, ctx) => {
  try {
    return parseDuration(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/** A duration that must be greater than zero. */
export const positiveDurationSchema = durationSchema.refine((ms) => ms > 0, {
  message: 'expected a duration greater than zero',
});
