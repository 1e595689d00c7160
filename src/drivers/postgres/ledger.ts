// ledger_basic on Postgres: counters in one table, applied changes in another whose primary key
// (key, change_id) makes a change apply at most once. Both are written in one transaction: the
// change row first (a concurrent copy of the same change waits on it, then finds it), then the
// counter (inserted with its initial value when the change may create it) with
// `count = count + delta` under its row lock, so concurrent changes of one key queue
// for milliseconds instead of retrying a compare-and-set. Change rows expire after their
// retention: reads ignore expired rows, a re-applied id takes its expired row over, and a
// background sweep deletes the rest.
import type { PoolClient } from 'pg';
import type { LedgerBasic, LedgerChange, LedgerOutcome, LedgerRefusal } from '../capabilities';
import { checkLedgerChange, type CheckedChange } from '../ledger-checks';
import { DriverError } from '../errors';
import { checkKey } from '../limits';
import type { PgContext } from './context';
import { DRIVER } from './sql';

const SWEEP_BATCH = 1000;
/** Update-then-read rounds before giving up on a key changing under every read (retryable). */
const MAX_ROUNDS = 5;

export class PgLedger implements LedgerBasic {
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly ctx: PgContext) {
    ctx.onPartReady('ledger', () => this.startSweeper());
  }

  private get counters(): string {
    return this.ctx.tables.ledger;
  }

  private get changes(): string {
    return this.ctx.tables.ledgerChanges;
  }

  async applyChange(key: string, changeId: string, change: LedgerChange): Promise<LedgerOutcome> {
    const c = checkLedgerChange(DRIVER, this.ctx.limits, key, changeId, change);
    await this.ctx.ensure('ledger');
    return this.ctx.withClient('applyChange', async (client) => {
      await client.query('BEGIN');
      try {
        const outcome = await this.apply(client, c);
        // A refused change leaves nothing behind, its change row included: a later retry may apply.
        await client.query(outcome.applied ? 'COMMIT' : 'ROLLBACK');
        return outcome;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  private async apply(client: PoolClient, c: CheckedChange): Promise<LedgerOutcome> {
    const refuse = async (reason: LedgerRefusal): Promise<LedgerOutcome> => ({
      now: await this.read(client, c.key),
      applied: false,
      reason,
    });
    const recorded = await client.query(
      `INSERT INTO ${this.changes} AS t (key, change_id, delta, expires_at)
       VALUES ($1, $2, $3, now() + $4::float8 * interval '1 millisecond')
       ON CONFLICT (key, change_id) DO UPDATE
         SET delta = EXCLUDED.delta, expires_at = EXCLUDED.expires_at
         WHERE t.expires_at <= now()
       RETURNING 1`,
      [c.key, c.changeId, c.delta, c.retentionMs],
    );
    if (recorded.rowCount === 0) return refuse('duplicate');
    if (c.onlyAfter !== null) {
      const earlier = await client.query(
        `SELECT 1 FROM ${this.changes} WHERE key = $1 AND change_id = $2 AND expires_at > now()`,
        [c.key, c.onlyAfter],
      );
      if (earlier.rowCount === 0) return refuse('not_after');
    }
    // A counter the change may create is inserted first: concurrent creators then queue on its row
    // instead of racing between "absent" and "insert". A refusal rolls the insert back.
    let createdHere = false;
    if (c.initial !== null) {
      const created = await client.query(
        `INSERT INTO ${this.counters} (key, count) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING 1`,
        [c.key, c.initial],
      );
      createdHere = created.rowCount === 1;
    }
    for (let round = 0; round < MAX_ROUNDS; round++) {
      // Under the row lock, on the newest committed count: concurrent changes of the key queue here.
      const updated = await client.query<{ count: string }>(
        `UPDATE ${this.counters} SET count = count + $2
         WHERE key = $1 AND ($3::bigint IS NULL OR count + $2 >= $3::bigint)
         RETURNING count::text AS count`,
        [c.key, c.delta, c.floor],
      );
      if (updated.rows[0]) return { now: Number(updated.rows[0].count), applied: true };
      const stored = await this.read(client, c.key);
      if (stored === null) return { now: null, applied: false, reason: 'missing' };
      if (c.floor !== null && stored + c.delta < c.floor) {
        return { now: createdHere ? null : stored, applied: false, reason: 'insufficient' };
      }
      // The counter appeared or grew between the update and the read: try the update again.
    }
    throw new DriverError(DRIVER, 'Unavailable', `ledger ${c.key}: too many concurrent changes, try again`);
  }

  private async read(client: PoolClient, key: string): Promise<number | null> {
    const r = await client.query<{ count: string }>(
      `SELECT count::text AS count FROM ${this.counters} WHERE key = $1`,
      [key],
    );
    return r.rows[0] ? Number(r.rows[0].count) : null;
  }

  async balance(key: string): Promise<number | null> {
    const k = checkKey(DRIVER, key, this.ctx.limits);
    await this.ctx.ensure('ledger');
    const r = await this.ctx.query<{ count: string }>(
      'balance',
      `SELECT count::text AS count FROM ${this.counters} WHERE key = $1`,
      [k],
    );
    return r.rows[0] ? Number(r.rows[0].count) : null;
  }

  private startSweeper(): void {
    this.sweeper ??= this.ctx.sweepEvery(
      'sweeping expired ledger changes',
      `DELETE FROM ${this.changes} WHERE ctid IN (
         SELECT ctid FROM ${this.changes} WHERE expires_at <= now() LIMIT ${SWEEP_BATCH} FOR UPDATE SKIP LOCKED)`,
    );
  }

  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}
