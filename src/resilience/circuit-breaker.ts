// A circuit breaker per backend: closed → open → half-open → closed (or open again).
//
// Why not cockatiel's CircuitBreakerPolicy (3.2.1), which we read before writing this:
// - it reads `Date.now()` itself, so neither the open → half-open timing nor the time left until a
//   probe can be driven by an injected clock (and `openedAt`/backoff are private, so the time left
//   is not observable at all);
// - half-open admits exactly one test call and makes every concurrent caller *wait* for it instead
//   of failing fast; we need N probes and fast rejection of the rest;
// - a call admitted while closed that fails after the circuit went half-open re-opens it (it
//   checks the current state, not the state the call was admitted in); we tie each outcome to the
//   state period ("epoch") its call started in;
// - its SamplingBreaker also reads `Date.now()` and gates on a minimum RPS, not a minimum number of
//   calls.
// The state machine is small, so it lives here with a clock and fully deterministic tests.
import { isDriverError, isNetworkError } from '../drivers/errors';
import { type Clock, systemClock } from './clock';
import type { CircuitBreakerConfig } from './config';
import { CircuitOpenError, MIN_RETRY_AFTER_MS } from './errors';

export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * What a finished call tells the breaker: `failure` (the backend looks down), `success` (the
 * backend answered, even if with a permanent error) or `ignored` (says nothing about the backend).
 */
export type CallOutcome = 'failure' | 'success' | 'ignored';

/** Transient failures, the only ones a breaker counts: retryable driver errors and network errors. */
export function isTransientFailure(err: unknown): boolean {
  if (isDriverError(err)) return err.retryable;
  return isNetworkError(err);
}

/**
 * The default classification of a thrown error. A permanent driver error (NotFound, InvalidArgument…)
 * means the backend answered, so it counts as a success; errors of unknown origin (a bug in our
 * code, a cancellation) say nothing about the backend and are ignored.
 */
export function classifyError(err: unknown): CallOutcome {
  if (isTransientFailure(err)) return 'failure';
  if (isDriverError(err)) return 'success';
  return 'ignored';
}

/** A call's admission ticket: report how it ended exactly once (later reports are ignored). */
export interface BreakerPermit {
  /** Whether the call was admitted as a half-open probe. */
  readonly probe: boolean;
  success(): void;
  /** Classifies `err` with the breaker's classifier and records the outcome. */
  failure(err: unknown): void;
  release(outcome: CallOutcome): void;
}

export interface CircuitBreakerOptions {
  backend: string;
  config: CircuitBreakerConfig;
  clock?: Clock;
  classify?: (err: unknown) => CallOutcome;
  onTransition?: (from: CircuitState, to: CircuitState) => void;
}

export interface CircuitBreakerSnapshot {
  state: CircuitState;
  msUntilHalfOpen: number;
  consecutiveFailures: number;
  /** sampling mode: calls and failures in the current window */
  windowCalls: number;
  windowFailures: number;
  probesInFlight: number;
  probeSuccesses: number;
}

/** How long a caller rejected because every probe slot is taken should wait, at most. */
const HALF_OPEN_BUSY_RETRY_MS = 1_000;
const WINDOW_BUCKETS = 10;

export class CircuitBreaker {
  readonly backend: string;
  private readonly config: CircuitBreakerConfig;
  private readonly clock: Clock;
  private readonly classify: (err: unknown) => CallOutcome;
  private readonly onTransition: ((from: CircuitState, to: CircuitState) => void) | undefined;

  private current: CircuitState = 'closed';
  /** Bumped on every transition; outcomes of calls admitted in an earlier epoch are dropped. */
  private epoch = 0;
  private openUntil = 0;
  private consecutiveFailures = 0;
  private readonly window: SlidingWindow | undefined;
  private probesAdmitted = 0;
  private probesInFlight = 0;
  private probeSuccesses = 0;

  constructor(options: CircuitBreakerOptions) {
    this.backend = options.backend;
    this.config = options.config;
    this.clock = options.clock ?? systemClock;
    this.classify = options.classify ?? classifyError;
    this.onTransition = options.onTransition;
    if (this.config.mode === 'sampling') this.window = new SlidingWindow(this.config.sampling_window, WINDOW_BUCKETS);
  }

  /** The current state; an open circuit whose reset timeout has passed becomes half-open here. */
  state(): CircuitState {
    this.refresh();
    return this.current;
  }

  /** Milliseconds until probes are allowed; 0 unless open. */
  msUntilHalfOpen(): number {
    this.refresh();
    return this.current === 'open' ? Math.max(0, this.openUntil - this.clock.now()) : 0;
  }

  /** Throws {@link CircuitOpenError} if a call would be rejected now, without admitting one. */
  check(): void {
    this.refresh();
    if (this.current === 'open') throw this.openError();
    if (this.current === 'half-open' && this.probesAdmitted >= this.config.half_open_probes) throw this.busyError();
  }

  /** Admits a call or throws {@link CircuitOpenError}. */
  acquire(): BreakerPermit {
    this.check();
    const probe = this.current === 'half-open';
    if (probe) {
      this.probesAdmitted++;
      this.probesInFlight++;
    }
    return new Permit(this.settleOutcome, this.classify, this.epoch, probe);
  }

  /** Runs `fn` through the breaker. */
  async execute<T>(fn: () => Promise<T>): Promise<T> {
    const permit = this.acquire();
    try {
      const result = await fn();
      permit.success();
      return result;
    } catch (err) {
      permit.failure(err);
      throw err;
    }
  }

  snapshot(): CircuitBreakerSnapshot {
    const now = this.clock.now();
    const sample = this.window?.totals(now);
    return {
      state: this.state(),
      msUntilHalfOpen: this.msUntilHalfOpen(),
      consecutiveFailures: this.consecutiveFailures,
      windowCalls: sample?.calls ?? 0,
      windowFailures: sample?.failures ?? 0,
      probesInFlight: this.probesInFlight,
      probeSuccesses: this.probeSuccesses,
    };
  }

  /** Bound once: every permit reports through it. */
  private readonly settleOutcome = (epoch: number, probe: boolean, outcome: CallOutcome): void =>
    this.settle(epoch, probe, outcome);

  private settle(epoch: number, probe: boolean, outcome: CallOutcome): void {
    if (epoch !== this.epoch) return; // admitted before the last transition: stale news
    if (probe) {
      this.probesInFlight--;
      if (outcome === 'failure') this.transition('open');
      else if (outcome === 'ignored')
        this.probesAdmitted--; // give the probe slot back
      else if (++this.probeSuccesses >= this.config.half_open_probes) this.transition('closed');
      return;
    }
    if (this.current !== 'closed' || outcome === 'ignored') return;
    if (this.window) {
      const now = this.clock.now();
      this.window.record(now, outcome === 'failure');
      if (outcome === 'failure') {
        const { calls, failures } = this.window.totals(now);
        if (calls >= this.config.minimum_calls && failures / calls >= this.config.failure_rate) this.transition('open');
      }
      return;
    }
    if (outcome === 'success') this.consecutiveFailures = 0;
    else if (++this.consecutiveFailures >= this.config.max_failures) this.transition('open');
  }

  private refresh(): void {
    if (this.current === 'open' && this.clock.now() >= this.openUntil) this.transition('half-open');
  }

  private transition(to: CircuitState): void {
    const from = this.current;
    if (from === to) return;
    this.current = to;
    this.epoch++;
    this.consecutiveFailures = 0;
    this.probesAdmitted = 0;
    this.probesInFlight = 0;
    this.probeSuccesses = 0;
    this.window?.clear();
    if (to === 'open') this.openUntil = this.clock.now() + this.config.reset_timeout;
    this.onTransition?.(from, to);
  }

  private openError(): CircuitOpenError {
    return new CircuitOpenError(this.backend, this.openUntil - this.clock.now(), 'open');
  }

  private busyError(): CircuitOpenError {
    const wait = Math.min(HALF_OPEN_BUSY_RETRY_MS, this.config.reset_timeout);
    return new CircuitOpenError(this.backend, Math.max(MIN_RETRY_AFTER_MS, wait), 'half-open');
  }
}

/** One object per admitted call (a guarded call's only allocation in the breaker). */
class Permit implements BreakerPermit {
  private settled = false;

  constructor(
    private readonly settle: (epoch: number, probe: boolean, outcome: CallOutcome) => void,
    private readonly classify: (err: unknown) => CallOutcome,
    private readonly epoch: number,
    readonly probe: boolean,
  ) {}

  success(): void {
    this.release('success');
  }

  failure(err: unknown): void {
    this.release(this.classify(err));
  }

  release(outcome: CallOutcome): void {
    if (this.settled) return;
    this.settled = true;
    this.settle(this.epoch, this.probe, outcome);
  }
}

/** Calls and failures over the last `windowMs`, kept in a fixed ring of time buckets. */
class SlidingWindow {
  private readonly bucketMs: number;
  private readonly ids: number[];
  private readonly calls: number[];
  private readonly failures: number[];

  constructor(windowMs: number, buckets: number) {
    this.bucketMs = Math.max(1, windowMs / buckets);
    this.ids = new Array<number>(buckets).fill(Number.NEGATIVE_INFINITY);
    this.calls = new Array<number>(buckets).fill(0);
    this.failures = new Array<number>(buckets).fill(0);
  }

  record(now: number, failed: boolean): void {
    const id = Math.floor(now / this.bucketMs);
    const i = ((id % this.ids.length) + this.ids.length) % this.ids.length;
    if (this.ids[i] !== id) {
      this.ids[i] = id;
      this.calls[i] = 0;
      this.failures[i] = 0;
    }
    this.calls[i]++;
    if (failed) this.failures[i]++;
  }

  totals(now: number): { calls: number; failures: number } {
    const current = Math.floor(now / this.bucketMs);
    let calls = 0;
    let failures = 0;
    for (let i = 0; i < this.ids.length; i++) {
      if (this.ids[i] > current - this.ids.length && this.ids[i] <= current) {
        calls += this.calls[i];
        failures += this.failures[i];
      }
    }
    return { calls, failures };
  }

  clear(): void {
    this.ids.fill(Number.NEGATIVE_INFINITY);
    this.calls.fill(0);
    this.failures.fill(0);
  }
}
