// Bounded fan-out for workflow code: split items into batches, run each batch with one call
// (typically one activity), never more than `concurrency` calls in flight. Uses only promises,
// so the order in which calls are scheduled follows the order in which earlier ones completed —
// which history records — and replay schedules them identically. Results come back in input
// order; a failed batch is reported with its items, not thrown away with the others' results.
import { positiveInteger, toBatches, type Batch } from './batches';

export interface FanOutOptions {
  /** Items per call. */
  batchSize: number;
  /** Calls in flight at most. Keep well below Temporal's 2,000 pending activities per workflow. */
  concurrency: number;
}

export interface BatchFailure<T> {
  /** Index of the batch, in input order. */
  batch: number;
  /** Index in the input of the batch's first item. */
  offset: number;
  items: T[];
  error: unknown;
  message: string;
}

export interface FanOutResult<T, R> {
  /** One entry per input item, in input order; undefined where its batch failed. */
  results: (R | undefined)[];
  failures: BatchFailure<T>[];
  /** Items whose batch succeeded. */
  succeeded: number;
  /** Items whose batch failed. */
  failed: number;
  batches: number;
}

export interface BatchContext {
  batch: number;
  offset: number;
}

/** Runs one batch; must resolve with one result per item, in the batch's order. */
export type BatchRunner<T, R> = (items: T[], context: BatchContext) => Promise<R[]>;

export const MAX_FAN_OUT_CONCURRENCY = 1_000;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export async function fanOut<T, R>(
  items: readonly T[],
  run: BatchRunner<T, R>,
  options: FanOutOptions,
): Promise<FanOutResult<T, R>> {
  const concurrency = positiveInteger('concurrency', options.concurrency);
  if (concurrency > MAX_FAN_OUT_CONCURRENCY)
    throw new RangeError(`concurrency must be at most ${MAX_FAN_OUT_CONCURRENCY}, got ${concurrency}`);
  const batches = toBatches(items, options.batchSize);
  const results: (R | undefined)[] = new Array<R | undefined>(items.length).fill(undefined);
  const failures: BatchFailure<T>[] = [];
  let next = 0;

  const runBatch = async (batch: Batch<T>): Promise<void> => {
    try {
      const out = await run(batch.items, { batch: batch.index, offset: batch.offset });
      if (!Array.isArray(out) || out.length !== batch.items.length) {
        throw new Error(
          `batch ${batch.index} returned ${Array.isArray(out) ? out.length : typeof out} results for ${batch.items.length} items`,
        );
      }
      out.forEach((r, i) => (results[batch.offset + i] = r));
    } catch (error) {
      failures.push({ batch: batch.index, offset: batch.offset, items: batch.items, error, message: messageOf(error) });
    }
  };

  // `concurrency` lanes, each taking the next unstarted batch when its previous one settles.
  const lane = async (): Promise<void> => {
    while (next < batches.length) await runBatch(batches[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, lane));

  failures.sort((a, b) => a.batch - b.batch);
  const failed = failures.reduce((n, f) => n + f.items.length, 0);
  return { results, failures, succeeded: items.length - failed, failed, batches: batches.length };
}
