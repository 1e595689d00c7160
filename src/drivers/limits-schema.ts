// The `limits` block of a driver's config: every driver takes the same two fields, each bounded
// by what its backend can hold.
import { z } from 'zod';
import { DEFAULT_LIMITS } from './limits';

export interface LimitCeilings {
  /** The largest key (and queue/topic/stream name) the backend can index, in bytes. */
  maxKeyBytes?: number;
  /** The largest value or message the backend accepts, in bytes. */
  maxValueBytes?: number;
}

export function limitsSchema(ceilings: LimitCeilings = {}) {
  const bounded = (max: number | undefined, fallback: number) =>
    (max === undefined ? z.number().int().min(1) : z.number().int().min(1).max(max)).default(fallback);
  return z
    .strictObject({
      maxKeyBytes: bounded(ceilings.maxKeyBytes, DEFAULT_LIMITS.maxKeyBytes),
      maxValueBytes: bounded(ceilings.maxValueBytes, DEFAULT_LIMITS.maxValueBytes),
    })
    .prefault({});
}
