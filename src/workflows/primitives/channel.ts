// A bounded FIFO between two async stages of workflow code. Built on plain promises only (no
// timers, no I/O), so inside a workflow it is as deterministic as the activities feeding it:
// a producer that outruns its consumer waits at push() instead of growing memory or history.

export class ChannelClosedError extends Error {
  constructor() {
    super('push on a closed channel');
    this.name = 'ChannelClosedError';
  }
}

type Waiter = () => void;

export class BoundedChannel<T> {
  private readonly items: T[] = [];
  private closed = false;
  private failure: { error: unknown } | undefined;
  private readonly notFull: Waiter[] = [];
  private readonly notEmpty: Waiter[] = [];
  /** The most items ever buffered at once (never above capacity). */
  maxBuffered = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.items.length;
  }

  /** Waits while the buffer is full, then enqueues. */
  async push(item: T): Promise<void> {
    while (this.items.length >= this.capacity && !this.closed && !this.failure) {
      await new Promise<void>((resolve) => this.notFull.push(resolve));
    }
    if (this.failure) throw this.failure.error;
    if (this.closed) throw new ChannelClosedError();
    this.items.push(item);
    this.maxBuffered = Math.max(this.maxBuffered, this.items.length);
    this.wake(this.notEmpty);
  }

  /** The next item, or `done` once the channel is closed and drained. */
  async pull(): Promise<{ done: false; value: T } | { done: true }> {
    while (this.items.length === 0 && !this.closed && !this.failure) {
      await new Promise<void>((resolve) => this.notEmpty.push(resolve));
    }
    if (this.failure) throw this.failure.error;
    if (this.items.length === 0) return { done: true };
    const value = this.items.shift() as T;
    this.wake(this.notFull);
    return { done: false, value };
  }

  /** No more pushes; pullers drain what is buffered, then see `done`. */
  close(): void {
    this.closed = true;
    this.wakeAll();
  }

  /** Aborts both sides: every waiting and later push/pull throws `error`. */
  fail(error: unknown): void {
    if (!this.failure) this.failure = { error };
    this.wakeAll();
  }

  private wake(waiters: Waiter[]): void {
    waiters.shift()?.();
  }

  private wakeAll(): void {
    for (const waiters of [this.notFull, this.notEmpty]) while (waiters.length > 0) waiters.shift()!();
  }
}
