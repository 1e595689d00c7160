// A long scan as one activity: heartbeats its cursor and what it has found after every page,
// stops when cancelled, and after a retry (worker crash, timeout) resumes from the last
// heartbeat instead of starting over. Keys seen twice (a cursor replayed after a crash) are
// dropped, so the result has no duplicates and, with a stable cursor, no gaps.
import { Context } from '@temporalio/activity';
import type { KeyValueScan } from '../drivers/capabilities';

export interface ScanProgress {
  cursor: string | null;
  keys: string[];
  pages: number;
}

export interface ScanResult {
  keys: string[];
  pages: number;
  /** Pages already done when this attempt started (0: started from scratch). */
  resumedFromPage: number;
}

export async function resumableScan(
  driver: KeyValueScan,
  prefix: string,
  options: { pageLimit?: number; onPage?: (progress: ScanProgress) => Promise<void> } = {},
): Promise<ScanResult> {
  const ctx = Context.current();
  const previous = ctx.info.heartbeatDetails as ScanProgress | undefined;
  const keys = previous ? [...previous.keys] : [];
  const seen = new Set(keys);
  let cursor = previous?.cursor ?? null;
  let pages = previous?.pages ?? 0;
  const resumedFromPage = pages;
  if (previous && cursor === null) return { keys, pages, resumedFromPage };

  do {
    if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
    const page = await driver.scan(prefix, { cursor, limit: options.pageLimit ?? 500 });
    for (const key of page.keys) {
      if (!seen.has(key)) {
        seen.add(key);
        keys.push(key);
      }
    }
    cursor = page.cursor;
    pages += 1;
    const progress: ScanProgress = { cursor, keys, pages };
    ctx.heartbeat(progress);
    await options.onPage?.(progress);
  } while (cursor !== null);
  return { keys, pages, resumedFromPage };
}
