// Bounded fan-out for workflow code: split items into batches, run each batch with one call
// (typically one activity), never more than `concurrency` calls in flight. Uses only promises,
// so the order in which calls are scheduled follows the order in which earlier ones completed —
// which history records — and replay schedules them identically.
//
// Two shapes over one scheduler:
//   - fanOut(items, run, options): a whole array at once; results come back in input order, a
//     failed batch is reported with its items, not thrown away with the others' results.
//   - FanOutPool: items arrive over time (page by page); submit() waits for a free lane before
//     starting each batch (backpressure on the producer), drain() waits for everything started.
//     The lanes are shared across submissions, so the next page is fetched while the previous
//     page's batches still run.
import { positiveInteger, toBatches } from './batches';

export interface FanOutOptions {
  /** Items per call. */
  batchSize: number;
  /** Calls in flight at most. Keep well below Temporal's 2,000 pending activities per workflow. */
  concurrency: number;
}

export interface BatchFailure<T> {
  /** Index of the batch, in submission order. */
  batch: number;
  /** Index of the batch's first item among all items submitted. */
  offset: number;
  items: T[];
  error: unknown;
  message: string;
}

/** What a pool (or a fan-out) did: every submitted item is in exactly one of succeeded/failed. */
export interface FanOutSummary<T> {
  failures: BatchFailure<T>[];
  /** Items whose batch succeeded. */
  succeeded: number;
  /** Items whose batch failed. */
  failed: number;
  batches: number;
}

export interface FanOutResult<T, R> extends FanOutSummary<T> {
  /** One entry per input item, in input order; undefined where its batch failed. */
  results: (R | undefined)[];
}

export interface BatchContext {
  batch: number;
  offset: number;
}

/** Runs one batch; must resolve with one result per item, in the batch's order. */
export type BatchRunner<T, R> = (items: T[], context: BatchContext) => Promise<R[]>;

/** Runs one batch of a pool; whatever it resolves with is ignored, a rejection is a BatchFailure. */
export type PoolRunner<T> = (items: T[], context: BatchContext) => Promise<unknown>;

export const MAX_FAN_OUT_CONCURRENCY = 1_000;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function checkOptions(options: FanOutOptions): { batchSize: number; concurrency: number } {
  const concurrency = positiveInteger('concurrency', options.concurrency);
  if (concurrency > MAX_FAN_OUT_CONCURRENCY)
    throw new RangeError(`concurrency must be at most ${MAX_FAN_OUT_CONCURRENCY}, got ${concurrency}`);
  return { batchSize: positiveInteger('batchSize', options.batchSize), concurrency };
}

export class FanOutPool<T> {
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly running = new Set<Promise<void>>();
  private readonly failures: BatchFailure<T>[] = [];
  private submitted = 0;
  private batches = 0;
  /** The most batches that ran at once (never above concurrency). */
  maxInFlight = 0;

  constructor(
    private readonly run: PoolRunner<T>,
    options: FanOutOptions,
  ) {
    ({ batchSize: this.batchSize, concurrency: this.concurrency } = checkOptions(options));
  }

  /** Batches running now. */
  get inFlight(): number {
    return this.running.size;
  }

  /**
   * Cuts `items` into batches and starts each one as soon as a lane is free. Resolves once the
   * last of them has started (not finished): the caller may fetch more while they run.
   */
  async submit(items: readonly T[]): Promise<void> {
    const base = this.submitted;
    this.submitted += items.length;
    for (const { offset, items: batch } of toBatches(items, this.batchSize)) {
      while (this.running.size >= this.concurrency) await Promise.race(this.running);
      const context: BatchContext = { batch: this.batches++, offset: base + offset };
      // Never rejects: a failure is recorded, so no rejection goes unhandled in a workflow task.
      const task: Promise<void> = this.run(batch, context)
        .then(
          () => undefined,
          (error: unknown) => {
            this.failures.push({ ...context, items: batch, error, message: messageOf(error) });
          },
        )
        .finally(() => this.running.delete(task));
      this.running.add(task);
      this.maxInFlight = Math.max(this.maxInFlight, this.running.size);
    }
  }

  /** Waits until every batch started so far has settled; the pool stays usable afterwards. */
  async drain(): Promise<FanOutSummary<T>> {
    while (this.running.size > 0) await Promise.all(this.running);
    const failures = [...this.failures].sort((a, b) => a.batch - b.batch);
    const failed = failures.reduce((n, f) => n + f.items.length, 0);
    return { failures, succeeded: this.submitted - failed, failed, batches: this.batches };
  }
}

export async function fanOut<T, R>(
  items: readonly T[],
  run: BatchRunner<T, R>,
  options: FanOutOptions,
): Promise<FanOutResult<T, R>> {
  const results: (R | undefined)[] = new Array<R | undefined>(items.length).fill(undefined);
  const pool = new FanOutPool<T>(async (batch, context) => {
    const out = await run(batch, context);
    if (!Array.isArray(out) || out.length !== batch.length) {
      throw new Error(
        `batch ${context.batch} returned ${Array.isArray(out) ? out.length : typeof out} results for ${batch.length} items`,
      );
    }
    out.forEach((r, i) => (results[context.offset + i] = r));
  }, options);
  await pool.submit(items);
  return { results, ...(await pool.drain()) };
}
