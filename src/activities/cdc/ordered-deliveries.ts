// The pump's batches between the replication stream and the sink. The pump reads and transforms
// the next batch while earlier ones are with the sink; at most `limit` batches are outstanding
// (read, not yet acknowledged), so a slow sink holds the reader back (and the stream's own flow
// control then pauses the socket) instead of letting batches pile up in memory.
//
// Batches go to the sink one sink call at a time, in read order, a call taking every batch queued
// by then up to `maxSize` (the raw produce loop's "whatever committed meanwhile goes in the next
// request"). One call at a time keeps per-key order on the sink through failures: a
// later batch sent beside a failing one could land before it (and before its retry). Batches are
// acknowledged in read order, so the caller confirms a position only once every batch up to it was
// accepted. After the first failure nothing more is sent or acknowledged: the failure is reported
// by room() and drain(), and what was not acknowledged is read again from the confirmed position.
export interface OrderedDeliveriesOptions<T> {
  /** Batches outstanding at most (read, not yet acknowledged). */
  limit: number;
  /** What one sink call takes at most, in sizeOf's unit (a single larger batch still goes alone). */
  maxSize: number;
  sizeOf: (batch: T) => number;
  /** One sink call for these batches, in order; resolves once the sink accepted them all. */
  deliver: (batches: readonly T[]) => Promise<void>;
  /** The batches of a call the sink accepted, in read order; never after a failure or abandon(). */
  acknowledged: (batches: readonly T[]) => void;
}

export class OrderedDeliveries<T> {
  private readonly queue: T[] = [];
  private outstanding = 0;
  private running = false;
  private sending: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | null = null;
  private abandoned = false;
  private readonly failedController = new AbortController();
  private waiters: (() => void)[] = [];

  constructor(private readonly options: OrderedDeliveriesOptions<T>) {}

  /** Aborted at the first failed sink call. */
  get failed(): AbortSignal {
    return this.failedController.signal;
  }

  /** Resolves once another batch may be added; throws the sink's failure if a call failed. */
  async room(): Promise<void> {
    while (this.outstanding >= this.options.limit && !this.failure) await this.changed();
    this.throwIfFailed();
  }

  throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  /** Queues a batch behind every earlier one. */
  add(batch: T): void {
    this.throwIfFailed();
    this.queue.push(batch);
    this.outstanding++;
    if (!this.running) {
      this.running = true;
      this.sending = this.send();
    }
  }

  /** Resolves once every batch was acknowledged; throws the sink's failure if a call failed. */
  async drain(): Promise<void> {
    while (this.outstanding > 0 && !this.failure) await this.changed();
    this.throwIfFailed();
  }

  /**
   * Sends nothing more and acknowledges nothing more (the stream broke: a position could no longer
   * be confirmed, so counting those batches would count them twice once they are read again);
   * resolves once the call in progress, if any, has settled.
   */
  async abandon(): Promise<void> {
    this.abandoned = true;
    this.queue.length = 0;
    await this.sending;
  }

  private async send(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.failure && !this.abandoned) {
        const group = this.takeGroup();
        try {
          await this.options.deliver(group);
          if (this.abandoned) return;
          this.outstanding -= group.length;
          this.options.acknowledged(group);
        } catch (error) {
          this.failure = { error };
          this.queue.length = 0;
          this.failedController.abort(error);
          return;
        }
        this.notify();
      }
    } finally {
      // Synchronously with the loop's last check: a batch added from now on starts a new sender.
      this.running = false;
      this.notify();
    }
  }

  /** The oldest queued batch and those after it that fit in one call's budget. */
  private takeGroup(): T[] {
    const group = [this.queue.shift()!];
    let size = this.options.sizeOf(group[0]!);
    while (this.queue.length > 0) {
      const more = this.options.sizeOf(this.queue[0]!);
      if (size + more > this.options.maxSize) break;
      size += more;
      group.push(this.queue.shift()!);
    }
    return group;
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private notify(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}
