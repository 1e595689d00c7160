// keyvalue_scan on Redis: SCAN with MATCH, paged to exactly `limit` keys, with a cursor that
// carries what one page leaves for the next and the server process it belongs to, so a scan
// resumed after a restart or failover starts again rather than silently skipping keys. On Redis
// Cluster the scan walks the primaries one after another, in the order of the first slot each
// serves; the cursor names that slot, so after a failover it finds the shard's new primary.
import type { Cluster, Redis } from 'ioredis';
import type { KeyValueScan, ScanPage } from '../capabilities';
import { DriverError } from '../errors';
import { checkLimit, type Limits } from '../limits';
import { RESERVED, type RedisContext } from './context';
import { DRIVER, invalid } from './errors';
import { SLOT_COUNT } from './slots';

const DEFAULT_SCAN_LIMIT = 100;
/**
 * SCAN COUNT bounds, and how many SCAN calls one page may make before returning what it has. Where
 * the prefix's keys are sparse among the server's (a shared server), COUNT grows up to the upper
 * bound so that a page takes few round trips: the server's time per key walked is the same at any
 * COUNT, the round trips are not, and 5,000 keys walked still answer within a few milliseconds.
 */
const MIN_SCAN_COUNT = 10;
const MAX_SCAN_COUNT = 5_000;
const MAX_SCAN_CALLS = 64;
const SCAN_CURSOR_TAG = 'r1:';

/** What a scan page leaves for the next: the Redis cursor ('' once SCAN is done), keys found but
 * not yet returned, the COUNT hint that suited the key density so far, and the run_id of the
 * server process that issued the cursor (absent in cursors of older versions); on a cluster, the
 * first slot of the shard the Redis cursor belongs to. */
interface ScanState {
  c: string;
  p: string[];
  n: number;
  s?: string;
  k?: number;
}

/** A cluster shard: the primary serving it and the first slot it serves. */
interface Shard {
  firstSlot: number;
  node: Redis;
}

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** INFO server's run_id: random per server process, so it changes on a restart or a failover. */
function parseRunId(info: string): string {
  const match = /^run_id:([0-9a-f]+)\s*$/m.exec(info);
  if (!match) throw new DriverError(DRIVER, 'Unsupported', 'INFO server has no run_id');
  return match[1];
}

/** Moves keys from pending (emptied from the front) to the page until it holds limit keys, skipping repeats. */
function fillPage(page: string[], seen: Set<string>, pending: string[], limit: number): void {
  while (page.length < limit && pending.length > 0) {
    const key = pending.shift() as string;
    if (!seen.has(key)) {
      seen.add(key);
      page.push(key);
    }
  }
}

/** Aims the next SCAN's COUNT at about `limit` matches, from the density seen. */
function nextCount(count: number, limit: number, found: number): number {
  if (found === 0) return Math.min(MAX_SCAN_COUNT, count * 4);
  return Math.min(MAX_SCAN_COUNT, Math.max(MIN_SCAN_COUNT, Math.ceil((count * limit) / found)));
}

async function runIdOf(node: Redis): Promise<string> {
  return parseRunId(await node.info('server'));
}

function encodeScanCursor(state: ScanState): string {
  return SCAN_CURSOR_TAG + Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');
}

function decodeScanCursor(cursor: unknown): ScanState | null {
  if (cursor === undefined || cursor === null) return null;
  const bad = (): DriverError => invalid('malformed scan cursor');
  if (typeof cursor !== 'string' || !cursor.startsWith(SCAN_CURSOR_TAG)) throw bad();
  let state: unknown;
  try {
    state = JSON.parse(Buffer.from(cursor.slice(SCAN_CURSOR_TAG.length), 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  const s = state as Partial<ScanState> | null;
  if (
    s === null ||
    typeof s !== 'object' ||
    typeof s.c !== 'string' ||
    !/^\d*$/.test(s.c) ||
    !Array.isArray(s.p) ||
    !s.p.every((k) => typeof k === 'string') ||
    typeof s.n !== 'number' ||
    !Number.isInteger(s.n) ||
    (s.s !== undefined && typeof s.s !== 'string') ||
    (s.k !== undefined && (!Number.isInteger(s.k) || s.k < 0 || s.k >= SLOT_COUNT))
  ) {
    throw bad();
  }
  return { c: s.c, p: s.p, n: Math.min(MAX_SCAN_COUNT, Math.max(MIN_SCAN_COUNT, s.n)), s: s.s, k: s.k };
}

/** The primaries of a cluster, ordered by the first slot each serves. */
function clusterShards(cluster: Cluster): Shard[] {
  const firstSlots = new Map<string, number>();
  cluster.slots.forEach((nodes, slot) => {
    const primary = nodes[0];
    if (primary !== undefined && !firstSlots.has(primary)) firstSlots.set(primary, slot);
  });
  const byKey = new Map(cluster.nodes('master').map((node) => [`${node.options.host}:${node.options.port}`, node]));
  const shards: Shard[] = [];
  for (const [key, firstSlot] of firstSlots) {
    const node = byKey.get(key);
    if (node) shards.push({ firstSlot, node });
  }
  if (shards.length === 0) throw new DriverError(DRIVER, 'Unavailable', 'the cluster has no known primaries yet');
  return shards.sort((a, b) => a.firstSlot - b.firstSlot);
}

export class RedisScan implements KeyValueScan {
  private readonly limits: Limits;
  /** Counts lost connections; with it, the server run a cached run_id belongs to. */
  private connectionEpoch = 0;
  private serverRun: Promise<string> | undefined;

  constructor(private readonly ctx: RedisContext) {
    this.limits = ctx.limits;
    // The next connection may reach another server process (a restart, a failover).
    ctx.client.on('close', () => {
      this.connectionEpoch += 1;
      this.serverRun = undefined;
    });
  }

  /**
   * SCAN with MATCH `<keyPrefix><prefix>*`. Guarantees (Redis SCAN's): every key present for the
   * whole scan is returned; a key may in rare cases (the table shrinking mid-scan) come back on two
   * pages, which callers that must not see repeats remove themselves. Within a page keys are
   * unique, and a page never holds more than `limit` keys: extra keys found by one SCAN call travel
   * in the cursor to the next page.
   *
   * A SCAN cursor only means something to the server process that issued it (the hash seed is
   * random per process), so a cursor carries that process's run_id: resumed on another process
   * (after a restart or a failover) the iteration starts again from the beginning, so keys present
   * throughout are still returned, some of them twice, rather than silently skipped.
   */
  async scan(prefix: string, options?: { cursor?: string | null; limit?: number }): Promise<ScanPage> {
    return this.ctx.run(async () => {
      if (typeof prefix !== 'string') throw invalid('prefix must be a string');
      if (Buffer.byteLength(prefix, 'utf8') > this.limits.maxKeyBytes) throw invalid('prefix is too long');
      const limit = checkLimit(DRIVER, options?.limit, DEFAULT_SCAN_LIMIT);
      const state = decodeScanCursor(options?.cursor) ?? {
        c: '0',
        p: [],
        n: Math.min(MAX_SCAN_COUNT, Math.max(MIN_SCAN_COUNT, limit)),
      };
      if (this.ctx.cluster) return this.clusterPage(prefix, limit, state);
      const epoch = this.connectionEpoch;
      const run = await this.serverRunId();
      const pattern = `${globEscape(this.ctx.keyPrefix + prefix)}*`;
      const keys: string[] = [];
      const seen = new Set<string>();
      let pending = state.p.filter((k) => k.startsWith(prefix));
      let redisCursor: string | null = state.c === '' ? null : state.s === run ? state.c : '0';
      let count = state.n;
      for (let calls = 0; ; calls += 1) {
        fillPage(keys, seen, pending, limit);
        if (keys.length >= limit || redisCursor === null || calls >= MAX_SCAN_CALLS) break;
        const [next, batch] = await this.ctx.client.scanBuffer(redisCursor, 'MATCH', pattern, 'COUNT', count);
        if (this.connectionEpoch !== epoch) {
          throw new DriverError(DRIVER, 'Unavailable', 'the connection was re-established during the scan');
        }
        const found = this.userKeys(batch, prefix).filter((k) => !seen.has(k));
        pending = [...new Set(found)];
        redisCursor = next.toString() === '0' ? null : next.toString();
        count = nextCount(count, limit, found.length);
      }
      const done = redisCursor === null && pending.length === 0;
      return { keys, cursor: done ? null : encodeScanCursor({ c: redisCursor ?? '', p: pending, n: count, s: run }) };
    });
  }

  /**
   * One page on a cluster: SCAN on the shard the cursor names, then on the next ones. Each shard's
   * run_id is asked before and after its SCAN calls: a Redis cursor resumed on another process
   * starts that shard again, and a process change mid-page fails the page (Unavailable, retryable
   * with the same cursor). Keys of slots moved by resharding during a scan may be missed.
   */
  private async clusterPage(prefix: string, limit: number, state: ScanState): Promise<ScanPage> {
    const cluster = this.ctx.client as Cluster;
    const shards = clusterShards(cluster);
    let at = 0;
    if (state.k !== undefined) {
      const owner = cluster.slots[state.k]?.[0];
      at = shards.findIndex((shard) => `${shard.node.options.host}:${shard.node.options.port}` === owner);
      if (at < 0) throw new DriverError(DRIVER, 'Unavailable', `no known primary serves slot ${state.k}`);
    }
    const pattern = `${globEscape(this.ctx.keyPrefix + prefix)}*`;
    const keys: string[] = [];
    const seen = new Set<string>();
    let pending = state.p.filter((k) => k.startsWith(prefix));
    let count = state.n;
    let run = await runIdOf(shards[at].node);
    let redisCursor: string | null = state.c === '' ? null : state.k === undefined || state.s === run ? state.c : '0';
    let scanned = false;
    const checkRun = async (): Promise<void> => {
      if (scanned && (await runIdOf(shards[at].node)) !== run) {
        throw new DriverError(DRIVER, 'Unavailable', 'a primary changed during the scan');
      }
    };
    for (let calls = 0; ; calls += 1) {
      fillPage(keys, seen, pending, limit);
      if (keys.length >= limit || calls >= MAX_SCAN_CALLS) break;
      if (redisCursor === null) {
        await checkRun();
        if (at + 1 >= shards.length) break;
        at += 1;
        run = await runIdOf(shards[at].node);
        redisCursor = '0';
        scanned = false;
        continue;
      }
      const [next, batch] = await shards[at].node.scanBuffer(redisCursor, 'MATCH', pattern, 'COUNT', count);
      scanned = true;
      const found = this.userKeys(batch, prefix).filter((k) => !seen.has(k));
      pending = [...new Set(found)];
      redisCursor = next.toString() === '0' ? null : next.toString();
      count = nextCount(count, limit, found.length);
    }
    await checkRun();
    const done = redisCursor === null && at + 1 >= shards.length && pending.length === 0;
    if (done) return { keys, cursor: null };
    return {
      keys,
      cursor: encodeScanCursor({ c: redisCursor ?? '', p: pending, n: count, s: run, k: shards[at].firstSlot }),
    };
  }

  /** The connected server process's run_id, asked once per connection. */
  private serverRunId(): Promise<string> {
    if (!this.serverRun) {
      const asked = runIdOf(this.ctx.client as Redis);
      asked.catch(() => {
        if (this.serverRun === asked) this.serverRun = undefined;
      });
      this.serverRun = asked;
    }
    return this.serverRun;
  }

  /** Decodes the user keys among SCAN results, skipping the driver's reserved namespace. */
  private userKeys(batch: Buffer[], prefix: string): string[] {
    const own = this.ctx.prefix;
    const at = own.length;
    const out: string[] = [];
    for (const raw of batch) {
      if (raw.length <= at || raw[at] === RESERVED || !raw.subarray(0, at).equals(own)) continue;
      const key = raw.subarray(at).toString('utf8');
      if (key.startsWith(prefix)) out.push(key);
    }
    return out;
  }
}
