// What one run of the CDC workflow keeps: the status it reports (and hands the next run when it
// continues as new), the rate window, and where the controls (pause, resume, stop, drop) have put
// it. Pure: times are passed in; the workflow's loop and its signal, update and query handlers
// read and move the same object.
import type { DeliverResult, OutboxLagStatus } from './activity-io';
import { initialStatus, recordBatch, type CdcStatus, type RateWindow } from './logic';

export type CdcControl = 'pause' | 'resume' | 'stop' | 'drop';

/** What one run hands the next when continuing as new. */
export interface CdcCarried {
  status: CdcStatus;
  window: RateWindow;
  paused: boolean;
  database: string;
  /** Only from runs before the cdc-sink-batch patch (settings.kafkaDirect). */
  directSink?: boolean;
}

/** What one round of the loop did, as the status records it. */
export interface RoundOutcome {
  changesRead: number;
  delivered: DeliverResult;
  /** The position confirmed (or the last outbox id marked) by the round; null: none. */
  position: string | null;
  lagBytes: number | null;
  /** Outbox mode: the backlog as the round's poll saw it. */
  outboxLag?: OutboxLagStatus;
  /** How long a streaming round gathered its events (they count over that span for the rate). */
  spanMs?: number;
}

export class RunState {
  status: CdcStatus;
  window: RateWindow;
  paused: boolean;
  stopRequested = false;
  dropRequested = false;
  /** The loop is held by a pause: no round in flight, nothing being delivered. */
  holding = false;
  /** source.db in events (from prepare, then carried). */
  database: string;
  /** Only from runs before the cdc-sink-batch patch (settings.kafkaDirect). */
  directSink: boolean;

  constructor(pipeline: string, nowMs: number, carried?: CdcCarried) {
    this.paused = carried?.paused ?? false;
    this.status = carried ? { ...carried.status, run: carried.status.run + 1 } : initialStatus(pipeline, nowMs);
    this.window = carried?.window ?? [];
    this.database = carried?.database ?? '';
    this.directSink = carried?.directSink ?? false;
  }

  /**
   * Paused only once nothing is delivered any more: until the round in flight has returned (a
   * cancellation reaches the pump with its next heartbeat, seconds later), the pipeline is pausing.
   */
  stateName(): CdcStatus['state'] {
    return this.stopRequested ? 'stopping' : this.paused ? (this.holding ? 'paused' : 'pausing') : 'running';
  }

  /** The status shows the state the controls and the loop have put the run in. */
  showState(): void {
    this.status = { ...this.status, state: this.stateName() };
  }

  take(action: CdcControl): void {
    if (action === 'pause') this.paused = true;
    else if (action === 'resume') this.paused = false;
    else {
      this.stopRequested = true;
      this.dropRequested ||= action === 'drop';
    }
    if (this.status.state !== 'starting') this.showState();
  }

  /** Folds a finished round into the status and the rate window. */
  record(round: RoundOutcome, nowMs: number): void {
    ({ status: this.status, window: this.window } = recordBatch(this.status, this.window, {
      nowMs,
      changesRead: round.changesRead,
      delivered: round.delivered.delivered + round.delivered.resumed,
      position: round.position,
      lagBytes: round.lagBytes,
      lagSeconds: round.delivered.lagSeconds,
      ...(round.outboxLag ? { outboxLag: round.outboxLag } : {}),
      ...(round.spanMs === undefined ? {} : { spanMs: round.spanMs }),
    }));
  }

  carry(): CdcCarried {
    return {
      status: this.status,
      window: this.window,
      paused: this.paused,
      database: this.database,
      directSink: this.directSink,
    };
  }
}
