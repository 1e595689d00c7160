// keyvalue_scan on Redis: SCAN with MATCH, paged to exactly `limit` keys, with a cursor that
// carries what one page leaves for the next and the server process it belongs to, so a scan
// resumed after a restart or failover starts again rather than silently skipping keys.
import type { KeyValueScan, ScanPage } from '../capabilities';
import { DriverError } from '../errors';
import { checkLimit, type Limits } from '../limits';
import { RESERVED, type RedisContext } from './context';
import { DRIVER, invalid } from './errors';

const DEFAULT_SCAN_LIMIT = 100;
/** SCAN COUNT bounds, and how many SCAN calls one page may make before returning what it has. */
const MIN_SCAN_COUNT = 10;
const MAX_SCAN_COUNT = 1_000;
const MAX_SCAN_CALLS = 64;
const SCAN_CURSOR_TAG = 'r1:';

/** What a scan page leaves for the next: the Redis cursor ('' once SCAN is done), keys found but
 * not yet returned, the COUNT hint that suited the key density so far, and the run_id of the
 * server process that issued the cursor (absent in cursors of older versions). */
interface ScanState {
  c: string;
  p: string[];
  n: number;
  s?: string;
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
    (s.s !== undefined && typeof s.s !== 'string')
  ) {
    throw bad();
  }
  return { c: s.c, p: s.p, n: Math.min(MAX_SCAN_COUNT, Math.max(MIN_SCAN_COUNT, s.n)), s: s.s };
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
      const epoch = this.connectionEpoch;
      const run = await this.serverRunId();
      const pattern = `${globEscape(this.ctx.keyPrefix + prefix)}*`;
      const keys: string[] = [];
      const seen = new Set<string>();
      let pending = state.p.filter((k) => k.startsWith(prefix));
      let redisCursor: string | null = state.c === '' ? null : state.s === run ? state.c : '0';
      let count = state.n;
      for (let calls = 0; ; calls += 1) {
        while (keys.length < limit && pending.length > 0) {
          const key = pending.shift() as string;
          if (!seen.has(key)) {
            seen.add(key);
            keys.push(key);
          }
        }
        if (keys.length >= limit || redisCursor === null || calls >= MAX_SCAN_CALLS) break;
        const [next, batch] = await this.ctx.client.scanBuffer(redisCursor, 'MATCH', pattern, 'COUNT', count);
        if (this.connectionEpoch !== epoch) {
          throw new DriverError(DRIVER, 'Unavailable', 'the connection was re-established during the scan');
        }
        const found = this.userKeys(batch, prefix).filter((k) => !seen.has(k));
        pending = [...new Set(found)];
        redisCursor = next.toString() === '0' ? null : next.toString();
        // Aim the next COUNT at about `limit` matches, from the density seen.
        count =
          found.length === 0
            ? Math.min(MAX_SCAN_COUNT, count * 4)
            : Math.min(MAX_SCAN_COUNT, Math.max(MIN_SCAN_COUNT, Math.ceil((count * limit) / found.length)));
      }
      const done = redisCursor === null && pending.length === 0;
      return { keys, cursor: done ? null : encodeScanCursor({ c: redisCursor ?? '', p: pending, n: count, s: run }) };
    });
  }

  /** The connected server process's run_id, asked once per connection. */
  private serverRunId(): Promise<string> {
    if (!this.serverRun) {
      const asked = this.ctx.client.info('server').then(parseRunId);
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
