// cdc_source's captureStatus: the database the slot decodes, and how much WAL the slot still
// holds (from the server's current position back to what its consumer confirmed).
import type { CaptureStatus } from '../capabilities';
import { DriverError } from '../errors';
import type { PgContext } from './context';
import { DRIVER } from './sql';

export async function captureStatus(ctx: PgContext, options: { slot: string }): Promise<CaptureStatus> {
  if (typeof options?.slot !== 'string' || options.slot.length === 0) {
    throw new DriverError(DRIVER, 'InvalidArgument', 'slot must be a non-empty string');
  }
  const result = await ctx.query<{ database: string; lag: string | null }>(
    'capture status',
    `SELECT current_database() AS database,
            (SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text
             FROM pg_replication_slots WHERE slot_name = $1) AS lag`,
    [options.slot],
  );
  const row = result.rows[0];
  return { database: row?.database ?? '', lagBytes: row?.lag == null ? null : Number(row.lag) };
}
