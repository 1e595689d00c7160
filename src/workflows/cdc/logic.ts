// The CDC workflow's pure logic: a pipeline's status as the workflow keeps it (and hands it to the
// next run when continuing as new): position, lag, throughput and totals. Times are passed in
// (workflow time).

import type { OutboxLagStatus, PumpProgress } from './activity-io';

/** pausing: a pause was asked for, but the round in flight has not returned yet (it still delivers). */
export type PipelineState = 'starting' | 'running' | 'pausing' | 'paused' | 'stopping' | 'stopped';

/** The initial snapshot's progress (null when the pipeline takes none). */
export interface SnapshotStatus {
  /** copying: staging the rows as of the slot's start; delivering: sending them as 'r' events. */
  state: 'copying' | 'delivering' | 'done';
  /** The slot's consistent point: streaming starts after it. */
  lsn: string | null;
  rows: number;
  /** Rows 1..rowsDone are delivered (or filtered out). */
  rowsDone: number;
}

export interface CdcStatus {
  pipeline: string;
  state: PipelineState;
  /** The last position confirmed to the source (LSN, or the last outbox id in outbox mode). */
  lastLsn: string | null;
  /** WAL the slot still holds (bytes behind the server's current position); null when unknown. */
  lagBytes: number | null;
  /** How old the oldest event of the last delivered batch was when the sink accepted it. */
  lagSeconds: number;
  /** Events delivered per second over the recent window. */
  eventsPerSecond: number;
  totals: { changesRead: number; eventsDelivered: number; filtered: number; batches: number };
  snapshot: SnapshotStatus | null;
  /**
   * Outbox mode: the rows not yet marked published and the age of the oldest, as the last poll
   * saw them (null in logical mode, and until the first poll; absent in older runs' status).
   */
  outboxLag?: OutboxLagStatus | null;
  /** Runs so far (continue-as-new count + 1). */
  run: number;
  lastBatchAt: string | null;
  startedAt: string;
}

/** Recent batches for the rate: (time ms, events). */
export type RateWindow = [number, number][];

export const RATE_WINDOW_MS = 10_000;

export function initialStatus(pipeline: string, nowMs: number): CdcStatus {
  return {
    pipeline,
    state: 'starting',
    lastLsn: null,
    lagBytes: null,
    lagSeconds: 0,
    eventsPerSecond: 0,
    totals: { changesRead: 0, eventsDelivered: 0, filtered: 0, batches: 0 },
    snapshot: null,
    outboxLag: null,
    run: 1,
    lastBatchAt: null,
    startedAt: new Date(nowMs).toISOString(),
  };
}

export interface BatchOutcome {
  nowMs: number;
  changesRead: number;
  delivered: number;
  position: string | null;
  lagBytes: number | null;
  lagSeconds: number;
  /** Outbox mode: the backlog as this batch's poll saw it. */
  outboxLag?: OutboxLagStatus;
  /** How long the batch took to gather (a streaming round): its events count over that span for the rate. */
  spanMs?: number;
}

/** Folds one finished batch into the status and the rate window (both returned anew). */
export function recordBatch(
  status: CdcStatus,
  window: RateWindow,
  batch: BatchOutcome,
): { status: CdcStatus; window: RateWindow } {
  const next: RateWindow = [...window, [batch.nowMs, batch.delivered] as [number, number]].filter(
    ([at]) => batch.nowMs - at <= RATE_WINDOW_MS,
  );
  const oldest = next[0]![0];
  const events = next.reduce((sum, [, n]) => sum + n, 0);
  // A window shorter than a second would overstate the rate.
  const spanMs = Math.max(batch.nowMs - oldest, batch.spanMs ?? 0, 1_000);
  return {
    window: next,
    status: {
      ...status,
      lastLsn: batch.position ?? status.lastLsn,
      lagBytes: batch.lagBytes ?? status.lagBytes,
      outboxLag: batch.outboxLag ?? status.outboxLag ?? null,
      lagSeconds: batch.lagSeconds,
      eventsPerSecond: Math.round((events * 1000) / spanMs),
      totals: {
        changesRead: status.totals.changesRead + batch.changesRead,
        eventsDelivered: status.totals.eventsDelivered + batch.delivered,
        filtered: status.totals.filtered + Math.max(0, batch.changesRead - batch.delivered),
        batches: status.totals.batches + 1,
      },
      lastBatchAt: batch.changesRead > 0 ? new Date(batch.nowMs).toISOString() : status.lastBatchAt,
    },
  };
}

/** Seconds between the oldest commit time and now (0 for none). */
export function lagSecondsOf(committedAt: readonly string[], nowMs: number): number {
  let oldest = Infinity;
  for (const t of committedAt) {
    const ms = Date.parse(t);
    if (Number.isFinite(ms) && ms < oldest) oldest = ms;
  }
  return oldest === Infinity ? 0 : Math.max(0, (nowMs - oldest) / 1000);
}

/**
 * The status with the round in flight counted in: the workflow records a round only when it ends
 * (every streamRoundMs), so without this a reader would see totals up to a round old.
 */
export function withRoundInFlight(status: CdcStatus, round: PumpProgress): CdcStatus {
  if (round.changesRead === 0 && round.position === null) return status;
  return {
    ...status,
    lastLsn: round.position ?? status.lastLsn,
    lagBytes: round.lagBytes ?? status.lagBytes,
    lagSeconds: round.position === null ? status.lagSeconds : round.lagSeconds,
    totals: {
      changesRead: status.totals.changesRead + round.changesRead,
      eventsDelivered: status.totals.eventsDelivered + round.delivered,
      filtered: status.totals.filtered + Math.max(0, round.changesRead - round.delivered),
      batches: status.totals.batches + round.batches,
    },
    lastBatchAt: round.lastBatchAt ?? status.lastBatchAt,
  };
}
