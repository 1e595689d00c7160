// Bounded concurrency for one backend: `capacity` calls run, up to `queue` more wait (first come,
// first served) for at most `timeout`, the rest are rejected with BulkheadFullError.
//
// cockatiel's BulkheadPolicy has capacity and queue but no bound on the wait, leaves aborted
// callers in its queue until their turn, and does not say how many run versus wait; this one does
// all three. A freed slot goes straight to the oldest waiter, so newcomers cannot overtake it.
import type { BulkheadConfig } from './config';
import { type BulkheadRejection, BulkheadFullError } from './errors';

/** Gives the slot back; calling it more than once does nothing. */
export type BulkheadRelease = () => void;

export interface BulkheadOptions {
  backend: string;
  config: BulkheadConfig;
  /** Called whenever the running or waiting counts change. */
  onChange?: (inFlight: number, queued: number) => void;
  onReject?: (reason: BulkheadRejection) => void;
}

interface Waiter {
  resolve: (release: BulkheadRelease) => void;
  cleanup: () => void;
}

export class Bulkhead {
  readonly backend: string;
  readonly capacity: number;
  readonly queueCapacity: number;
  readonly timeoutMs: number;
  private readonly onChange: ((inFlight: number, queued: number) => void) | undefined;
  private readonly onReject: ((reason: BulkheadRejection) => void) | undefined;
  private running = 0;
  private readonly waiting: Waiter[] = [];

  constructor(options: BulkheadOptions) {
    this.backend = options.backend;
    this.capacity = options.config.capacity;
    this.queueCapacity = options.config.queue;
    this.timeoutMs = options.config.timeout;
    this.onChange = options.onChange;
    this.onReject = options.onReject;
  }

  /** Calls holding a slot. */
  get inFlight(): number {
    return this.running;
  }

  /** Calls waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Takes a slot now if one is free. */
  tryAcquire(): BulkheadRelease | undefined {
    if (this.running >= this.capacity) return undefined;
    this.running++;
    this.changed();
    return this.releaser();
  }

  /**
   * Takes a slot, waiting in the queue if needed. Rejects with BulkheadFullError when the queue is
   * full or the wait exceeds the timeout, and with the signal's reason when the signal aborts.
   */
  acquire(signal?: AbortSignal): Promise<BulkheadRelease> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const release = this.tryAcquire();
    if (release) return Promise.resolve(release);
    if (this.waiting.length >= this.queueCapacity) return Promise.reject(this.reject('queue-full'));

    return new Promise<BulkheadRelease>((resolve, reject) => {
      const leave = (): boolean => {
        const i = this.waiting.indexOf(waiter);
        if (i < 0) return false;
        this.waiting.splice(i, 1);
        waiter.cleanup();
        this.changed();
        return true;
      };
      const onTimeout = (): void => {
        if (leave()) reject(this.reject('timeout'));
      };
      const onAbort = (): void => {
        if (signal && leave()) reject(abortReason(signal));
      };
      const timer = setTimeout(onTimeout, this.timeoutMs);
      const waiter: Waiter = {
        resolve,
        cleanup: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
      this.changed();
    });
  }

  /** Runs `fn` in a slot. */
  async execute<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private releaser(): BulkheadRelease {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) {
        // hand the slot over: `running` stays the same
        next.cleanup();
        this.changed();
        next.resolve(this.releaser());
      } else {
        this.running--;
        this.changed();
      }
    };
  }

  private reject(reason: BulkheadRejection): BulkheadFullError {
    this.onReject?.(reason);
    // A slot frees when some running call finishes; the configured wait is our best guess of that.
    return new BulkheadFullError(this.backend, reason, this.timeoutMs);
  }

  private changed(): void {
    this.onChange?.(this.running, this.waiting.length);
  }
}

function abortReason(signal: AbortSignal): unknown {
  const reason: unknown = signal.reason;
  return reason ?? new DOMException('This operation was aborted', 'AbortError');
}
