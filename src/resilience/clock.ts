// Time source for the resilience layer, injectable so tests drive every state change by hand.

export interface Clock {
  /** Milliseconds on a monotonic scale (only differences matter). */
  now(): number;
}

/** The process's monotonic clock. */
export const systemClock: Clock = { now: () => performance.now() };

/** A clock that moves only when told to; for tests. */
export class ManualClock implements Clock {
  private t: number;

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`a clock only moves forward, got ${ms}`);
    this.t += ms;
  }
}
