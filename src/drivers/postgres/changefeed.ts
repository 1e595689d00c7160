// changefeed on Postgres: a logged write is one transaction doing the key-value compare-and-set
// and, when it succeeds, taking the feed's next offset (an UPDATE of the feed's row, whose lock is
// held to commit: offsets of one feed commit in order, so a reader reading "after N" never skips
// one that commits later) and inserting the entry. Readers poll with a short backoff.
import type { QueryResultRow } from 'pg';
import type { Bytes, ChangeFeed, FeedPage, LoggedCasResult } from '../capabilities';
import { DriverError } from '../errors';
import { checkLimit, checkName } from '../limits';
import type { PgContext } from './context';
import type { PgKeyValue } from './keyvalue';
import { checkMs, checkNoNul, DRIVER, fromBytea, sleep } from './sql';

const OFFSET = /^\d{1,18}$/;
const POLL_MIN_MS = 5;
const POLL_MAX_MS = 50;

function invalid(message: string): DriverError {
  return new DriverError(DRIVER, 'InvalidArgument', message);
}

function checkOffset(name: string, offset: unknown): string {
  if (typeof offset !== 'string' || !OFFSET.test(offset)) throw invalid(`${name} must be an offset this feed returned`);
  return offset;
}

export class PgChangeFeed implements ChangeFeed {
  constructor(
    private readonly ctx: PgContext,
    private readonly kv: PgKeyValue,
  ) {}

  private name(kind: string, value: unknown): string {
    return checkNoNul(kind, checkName(DRIVER, kind, value, this.ctx.limits));
  }

  private async ready(): Promise<void> {
    await this.ctx.ensure('kv');
    await this.ctx.ensure('feed');
  }

  async compareAndSetLogged(
    feed: string,
    key: string,
    value: Bytes,
    expectedVersion: string | null,
    ttlSeconds?: number,
  ): Promise<LoggedCasResult> {
    const f = this.name('feed', feed);
    await this.ready();
    const t = this.ctx.tables;
    return this.ctx.transaction('compareAndSetLogged', async (client) => {
      const written = await this.kv.compareAndSetWith(
        <R extends QueryResultRow>(_action: string, text: string, values?: unknown[]) => client.query<R>(text, values),
        key,
        value,
        expectedVersion,
        ttlSeconds,
      );
      if (!written.ok) return { ok: false, version: written.version, offset: null, current: written.current };
      const head = await client.query<{ last_offset: string }>(
        `INSERT INTO ${t.feeds} AS f (feed, last_offset) VALUES ($1, 1)
         ON CONFLICT (feed) DO UPDATE SET last_offset = f.last_offset + 1
         RETURNING last_offset::text AS last_offset`,
        [f],
      );
      const offset = head.rows[0].last_offset;
      await client.query(`INSERT INTO ${t.feedEntries} (feed, offset_no, key, value) VALUES ($1, $2, $3, $4)`, [
        f,
        offset,
        key,
        Buffer.from(value.buffer, value.byteOffset, value.byteLength),
      ]);
      return { ok: true, version: written.version, offset, current: null };
    });
  }

  async readFeed(feed: string, options: { after: string | null; limit?: number; waitMs?: number }): Promise<FeedPage> {
    const f = this.name('feed', feed);
    const after = options?.after === null || options?.after === undefined ? '0' : checkOffset('after', options.after);
    const limit = checkLimit(DRIVER, options?.limit, 100);
    const waitMs = checkMs('waitMs', options?.waitMs, { fallback: 0 });
    await this.ready();
    const t = this.ctx.tables;
    const deadline = Date.now() + waitMs;
    let pause = POLL_MIN_MS;
    for (;;) {
      // Aliased apart from the column: ORDER BY would otherwise sort the text.
      const rows = await this.ctx.query<{ at: string; key: string; value: Buffer }>(
        'readFeed',
        `SELECT offset_no::text AS at, key, value FROM ${t.feedEntries}
         WHERE feed = $1 AND offset_no > $2::bigint ORDER BY offset_no LIMIT $3`,
        [f, after, limit],
      );
      const left = deadline - Date.now();
      if (rows.rows.length > 0 || left <= 0) {
        // Read after the entries: see RedisChangeFeed.readFeed for why this order tells a gap.
        const trimmed = await this.ctx.query<{ trimmed: string | null }>(
          'readFeed',
          `SELECT trimmed::text AS trimmed FROM ${t.feeds} WHERE feed = $1`,
          [f],
        );
        const cut = trimmed.rows[0]?.trimmed ?? null;
        const first = rows.rows[0]?.at;
        const gap = cut !== null && BigInt(cut) > BigInt(after) && (first === undefined || BigInt(cut) < BigInt(first));
        return {
          entries: rows.rows.map((r) => ({ offset: r.at, key: r.key, value: fromBytea(r.value) })),
          gap,
        };
      }
      await sleep(Math.min(pause, left));
      pause = Math.min(pause * 2, POLL_MAX_MS);
    }
  }

  async feedHead(feed: string): Promise<string | null> {
    const f = this.name('feed', feed);
    await this.ready();
    const head = await this.ctx.query<{ last_offset: string }>(
      'feedHead',
      `SELECT last_offset::text AS last_offset FROM ${this.ctx.tables.feeds} WHERE feed = $1`,
      [f],
    );
    return head.rows[0]?.last_offset ?? null;
  }

  async commitFeed(feed: string, reader: string, offset: string): Promise<void> {
    const f = this.name('feed', feed);
    const r = this.name('reader', reader);
    const o = checkOffset('offset', offset);
    await this.ready();
    await this.ctx.query(
      'commitFeed',
      `INSERT INTO ${this.ctx.tables.feedReaders} AS r (feed, reader, committed) VALUES ($1, $2, $3::bigint)
       ON CONFLICT (feed, reader) DO UPDATE SET committed = GREATEST(r.committed, EXCLUDED.committed)`,
      [f, r, o],
    );
  }

  async trimFeed(feed: string, options: { maxEntries: number }): Promise<number> {
    const f = this.name('feed', feed);
    const max = options?.maxEntries;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 0) {
      throw invalid('maxEntries must be a whole number, at least 0');
    }
    await this.ready();
    const t = this.ctx.tables;
    return this.ctx.transaction('trimFeed', async (client) => {
      // The cut: every reader's checkpoint passed it, or max entries are newer than it.
      const cut = await client.query<{ cut: string | null }>(
        `SELECT GREATEST(
           (SELECT min(committed) FROM ${t.feedReaders} WHERE feed = $1),
           (SELECT offset_no FROM ${t.feedEntries} WHERE feed = $1 ORDER BY offset_no DESC OFFSET $2 LIMIT 1)
         )::text AS cut`,
        [f, max],
      );
      const upTo = cut.rows[0]?.cut ?? null;
      if (upTo === null) return 0;
      const removed = await client.query<{ largest: string | null; n: number }>(
        `WITH gone AS (DELETE FROM ${t.feedEntries} WHERE feed = $1 AND offset_no <= $2::bigint RETURNING offset_no)
         SELECT max(offset_no)::text AS largest, count(*)::int AS n FROM gone`,
        [f, upTo],
      );
      const { largest, n } = removed.rows[0];
      if (largest !== null) {
        await client.query(
          `UPDATE ${t.feeds} SET trimmed = GREATEST(coalesce(trimmed, 0), $2::bigint) WHERE feed = $1`,
          [f, largest],
        );
      }
      return n;
    });
  }
}
