// What every pattern's load offers the chaos run: set-up before the clock starts, the load itself,
// a progress count that an independent observer advances (so a fault's recovery time can be read
// off it), and a final check with raw clients of the backends.

export type PatternName = 'multicast' | 'cdc' | 'saga' | 'sessions';

export interface PatternCheck {
  pattern: PatternName;
  ok: boolean;
  /** Counts shown in the report, in insertion order. */
  counts: Record<string, number | string>;
  /** What did not hold, each with its evidence (at most a few examples). */
  problems: string[];
}

export interface PatternLoad {
  readonly name: PatternName;
  /** What the run's report says this load is (sizes, rates). */
  describe(): string;
  prepare(): Promise<void>;
  /** Starts the load; it runs in the background until done. */
  start(): void;
  /** A count that only grows, advanced by what an observer outside the product saw happen. */
  progress(): number;
  /** Whether work is still expected (a stalled pattern with pending work has not recovered). */
  pending(): boolean;
  /** Waits until the load is done and observed, or until the deadline. */
  finish(deadline: number): Promise<void>;
  check(): Promise<PatternCheck>;
  close(): Promise<void>;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Calls fn until it succeeds or the deadline passes (then rethrows its last error). The loads
 * use it for calls a fault may fail: a client retries, as a user's would.
 */
export async function retrying<T>(fn: () => Promise<T>, deadline: number, pauseMs = 500): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() + pauseMs > deadline) throw err;
      await sleep(pauseMs);
    }
  }
}

/** Runs `count` tasks with at most `width` in flight. */
export async function inParallel(count: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

/** Waits until done() or the deadline; true when done. */
export async function until(done: () => boolean, deadline: number, pollMs = 250): Promise<boolean> {
  while (!done()) {
    if (Date.now() > deadline) return false;
    await sleep(pollMs);
  }
  return true;
}

/** A few examples from a list, for a problem's evidence. */
export function examples<T>(items: Iterable<T>, max = 5): string {
  const list = [...items];
  const shown = list.slice(0, max).map((x) => JSON.stringify(x));
  return list.length > max ? `${shown.join(', ')}, … (${list.length} in all)` : shown.join(', ');
}
