// A multicast's bookkeeping: how many targets, which were delivered or failed and why. Pure, so
// the workflow can carry it across continue-as-new and tests can check it directly. The status
// list is bounded (STATUS_LIST_LIMIT): failures are always kept first, delivered targets only
// while room is left, so results and queries stay far below Temporal's payload limit.
import {
  STATUS_LIST_LIMIT,
  type Channel,
  type DeliveryMode,
  type MulticastProgress,
  type MulticastReport,
  type TargetReport,
} from './input';

export interface LedgerState {
  targetCount: number;
  delivered: number;
  failed: number;
  deliveredStatuses: TargetReport[];
  failedStatuses: TargetReport[];
  droppedStatuses: number;
}

const MAX_ERROR_LENGTH = 500;

export class MulticastLedger {
  private readonly s: LedgerState;

  constructor(
    state?: LedgerState,
    private readonly limit = STATUS_LIST_LIMIT,
  ) {
    this.s = state
      ? structuredCloneState(state)
      : { targetCount: 0, delivered: 0, failed: 0, deliveredStatuses: [], failedStatuses: [], droppedStatuses: 0 };
  }

  addTargets(count: number): void {
    this.s.targetCount += count;
  }

  deliver(identity: string, attempts: number): void {
    this.s.delivered += 1;
    if (this.s.deliveredStatuses.length + this.s.failedStatuses.length < this.limit) {
      this.s.deliveredStatuses.push({ identity, status: 'delivered', attempts });
    } else {
      this.s.droppedStatuses += 1;
    }
  }

  /**
   * Delivered targets listed elsewhere (a paged multicast's report rows in the registry): counted,
   * and the report says its statuses leave delivered targets out.
   */
  countDelivered(count: number): void {
    this.s.delivered += count;
    this.s.droppedStatuses += count;
  }

  fail(identity: string, attempts: number, error: string): void {
    this.s.failed += 1;
    const entry: TargetReport = { identity, status: 'failed', attempts, error: error.slice(0, MAX_ERROR_LENGTH) };
    if (this.s.failedStatuses.length < this.limit) {
      this.s.failedStatuses.push(entry);
      // Failures matter more than successes: make room by dropping a delivered entry.
      if (this.s.deliveredStatuses.length + this.s.failedStatuses.length > this.limit) {
        this.s.deliveredStatuses.pop();
        this.s.droppedStatuses += 1;
      }
    } else {
      this.s.droppedStatuses += 1;
    }
  }

  get accounted(): number {
    return this.s.delivered + this.s.failed;
  }

  progress(done: boolean): MulticastProgress {
    const { targetCount, delivered, failed } = this.s;
    return { targetCount, delivered, failed, pending: targetCount - this.accounted, done };
  }

  report(done: boolean, delivery: DeliveryMode, channel: Channel): MulticastReport {
    return {
      targetCount: this.s.targetCount,
      delivered: this.s.delivered,
      failed: this.s.failed,
      pending: this.s.targetCount - this.accounted,
      done,
      delivery,
      channel,
      statuses: [...this.s.failedStatuses, ...this.s.deliveredStatuses],
      statusesTruncated: this.s.droppedStatuses > 0,
    };
  }

  state(): LedgerState {
    return structuredCloneState(this.s);
  }
}

function structuredCloneState(s: LedgerState): LedgerState {
  return {
    ...s,
    deliveredStatuses: s.deliveredStatuses.map((t) => ({ ...t })),
    failedStatuses: s.failedStatuses.map((t) => ({ ...t })),
  };
}
