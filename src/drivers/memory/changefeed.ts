// changefeed in process memory: per feed an array of entries with increasing offsets, its readers'
// checkpoints and the largest offset trimmed. A logged write is the key-value part's synchronous
// compare-and-set followed by the append in the same turn of the event loop, so nothing can read
// the value without its entry. Readers waiting for entries are woken by the append.
import type { Bytes, ChangeFeed, FeedEntry, FeedPage, LoggedCasResult } from '../capabilities';
import { checkKey, checkLimit, checkMs, checkName, checkTtl, checkValue, type Limits } from '../limits';
import { copy, DRIVER, invalid, type MemoryContext } from './context';
import type { MemoryKeyValue } from './keyvalue';

const OFFSET = /^\d{1,15}$/;

interface StoredEntry {
  offset: number;
  key: string;
  value: Uint8Array;
}

interface Feed {
  entries: StoredEntry[];
  next: number;
  readers: Map<string, number>;
  trimmed: number | null;
  waiters: Set<() => void>;
}

function checkOffset(name: string, offset: unknown): number {
  if (typeof offset !== 'string' || !OFFSET.test(offset)) throw invalid(`${name} must be an offset this feed returned`);
  return Number(offset);
}

export class MemoryChangeFeed implements ChangeFeed {
  private readonly limits: Limits;
  private readonly feeds = new Map<string, Feed>();

  constructor(
    private readonly ctx: MemoryContext,
    private readonly kv: MemoryKeyValue,
  ) {
    this.limits = ctx.limits;
  }

  async compareAndSetLogged(
    feed: string,
    key: string,
    value: Bytes,
    expectedVersion: string | null,
    ttlSeconds?: number,
  ): Promise<LoggedCasResult> {
    this.ctx.open();
    checkName(DRIVER, 'feed', feed, this.limits);
    checkKey(DRIVER, key, this.limits);
    checkValue(DRIVER, value, this.limits);
    if (expectedVersion !== null && typeof expectedVersion !== 'string') {
      throw invalid('expectedVersion must be a string or null');
    }
    if (ttlSeconds !== undefined) checkTtl(DRIVER, ttlSeconds);
    const result = this.kv.compareAndSetNow(key, value, expectedVersion, ttlSeconds);
    if (!result.ok) return { ok: false, version: result.version, offset: null, current: result.current };
    const f = this.feed(feed);
    const entry = { offset: ++f.next, key, value: copy(value) };
    f.entries.push(entry);
    for (const wake of f.waiters) wake();
    return { ok: true, version: result.version, offset: String(entry.offset), current: null };
  }

  async readFeed(feed: string, options: { after: string | null; limit?: number; waitMs?: number }): Promise<FeedPage> {
    this.ctx.open();
    checkName(DRIVER, 'feed', feed, this.limits);
    const after = options?.after === null || options?.after === undefined ? 0 : checkOffset('after', options.after);
    const limit = checkLimit(DRIVER, options?.limit, 100);
    const waitMs = checkMs(DRIVER, 'waitMs', options?.waitMs, { fallback: 0 });
    const f = this.feed(feed);
    const pending = (): StoredEntry[] => f.entries.filter((e) => e.offset > after).slice(0, limit);
    let found = pending();
    if (found.length === 0 && waitMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, waitMs);
        function done(): void {
          clearTimeout(timer);
          f.waiters.delete(done);
          resolve();
        }
        f.waiters.add(done);
      });
      this.ctx.open();
      found = pending();
    }
    const entries: FeedEntry[] = found.map((e) => ({ offset: String(e.offset), key: e.key, value: copy(e.value) }));
    const gap = f.trimmed !== null && f.trimmed > after && (found.length === 0 || f.trimmed < found[0].offset);
    return { entries, gap };
  }

  async feedHead(feed: string): Promise<string | null> {
    this.ctx.open();
    checkName(DRIVER, 'feed', feed, this.limits);
    const f = this.feed(feed);
    const head = f.entries.length > 0 ? f.entries[f.entries.length - 1].offset : f.trimmed;
    return head === null ? null : String(head);
  }

  async commitFeed(feed: string, reader: string, offset: string): Promise<void> {
    this.ctx.open();
    checkName(DRIVER, 'feed', feed, this.limits);
    checkName(DRIVER, 'reader', reader, this.limits);
    const at = checkOffset('offset', offset);
    const f = this.feed(feed);
    if ((f.readers.get(reader) ?? -1) < at) f.readers.set(reader, at);
  }

  async trimFeed(feed: string, options: { maxEntries: number }): Promise<number> {
    this.ctx.open();
    checkName(DRIVER, 'feed', feed, this.limits);
    const max = options?.maxEntries;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 0) {
      throw invalid('maxEntries must be a whole number, at least 0');
    }
    const f = this.feed(feed);
    const low = f.readers.size > 0 ? Math.min(...f.readers.values()) : 0;
    let cut = f.entries.findIndex((e) => e.offset > low);
    if (cut === -1) cut = f.entries.length;
    cut = Math.max(cut, f.entries.length - max);
    if (cut <= 0) return 0;
    const largest = f.entries[cut - 1].offset;
    f.entries.splice(0, cut);
    f.trimmed = Math.max(f.trimmed ?? 0, largest);
    return cut;
  }

  clear(): void {
    for (const f of this.feeds.values()) for (const wake of f.waiters) wake();
    this.feeds.clear();
  }

  private feed(name: string): Feed {
    let f = this.feeds.get(name);
    if (!f) {
      f = { entries: [], next: 0, readers: new Map(), trimmed: null, waiters: new Set() };
      this.feeds.set(name, f);
    }
    return f;
  }
}
