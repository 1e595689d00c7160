// A staged pipeline for workflow code: a source feeds stages joined by bounded channels, each
// stage running up to `concurrency` calls at once and handing results on in input order. A slow
// stage fills its input buffer and the stages before it (and the source) wait: backpressure, so
// a fast reader never holds more than the buffers allow. Promises only, no timers: deterministic
// inside a workflow. The first failure stops the pipeline and run() rejects with that very error
// (an ActivityFailure stays one, so an uncaught one fails the workflow rather than its task).
import { positiveInteger } from './batches';
import { BoundedChannel } from './channel';

export interface StageOptions {
  /** Calls of this stage in flight at most (default 1). */
  concurrency?: number;
  /** Capacity of the buffer after this stage (default: its concurrency). */
  buffer?: number;
}

export type StageFn<I, O> = (item: I, index: number) => O | Promise<O>;
export type Source<T> = Iterable<T> | AsyncIterable<T>;

export interface StageStats {
  name: string;
  processed: number;
  /** The most calls this stage had in flight at once. */
  maxInFlight: number;
  /** The most results waiting in the buffer after this stage at once. */
  maxBuffered: number;
}

export interface PipelineStats {
  /** Items taken from the source. */
  pulled: number;
  /** Items handed to the sink. */
  delivered: number;
  /** The most items waiting in the buffer after the source at once. */
  sourceMaxBuffered: number;
  stages: StageStats[];
}

interface StageDef {
  name: string;
  fn: StageFn<unknown, unknown>;
  concurrency: number;
  buffer: number;
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

// Rejections are turned into values at once: a rejected promise nobody awaits yet would be an
// unhandled rejection, which fails a workflow task.
function settle<T>(work: () => T | Promise<T>): Promise<Settled<T>> {
  return Promise.resolve()
    .then(work)
    .then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
}

export class Pipeline<In, Out> {
  private constructor(
    private readonly source: Source<In>,
    private readonly sourceBuffer: number,
    private readonly stages: readonly StageDef[],
  ) {}

  /** Starts a pipeline; `buffer` is the capacity between the source and the first stage. */
  static from<T>(source: Source<T>, options: { buffer?: number } = {}): Pipeline<T, T> {
    return new Pipeline<T, T>(source, positiveInteger('buffer', options.buffer ?? 1), []);
  }

  /** Adds a stage mapping each item (with its index in the source) to one output item. */
  stage<Next>(name: string, fn: StageFn<Out, Next>, options: StageOptions = {}): Pipeline<In, Next> {
    const concurrency = positiveInteger(`${name}: concurrency`, options.concurrency ?? 1);
    const buffer = positiveInteger(`${name}: buffer`, options.buffer ?? concurrency);
    const def: StageDef = { name, fn: fn as StageFn<unknown, unknown>, concurrency, buffer };
    return new Pipeline<In, Next>(this.source, this.sourceBuffer, [...this.stages, def]);
  }

  /** Runs to the end of the source, handing every output to sink (awaited: a slow sink slows all). */
  async run(sink: (item: Out, index: number) => void | Promise<void> = () => undefined): Promise<PipelineStats> {
    const channels = [this.sourceBuffer, ...this.stages.map((s) => s.buffer)].map(
      (capacity) => new BoundedChannel<unknown>(capacity),
    );
    let failure: { error: unknown } | undefined;
    const abort = (error: unknown): void => {
      if (!failure) failure = { error };
      for (const channel of channels) channel.fail(error);
    };
    const stats: PipelineStats = {
      pulled: 0,
      delivered: 0,
      sourceMaxBuffered: 0,
      stages: this.stages.map((s) => ({ name: s.name, processed: 0, maxInFlight: 0, maxBuffered: 0 })),
    };

    const feed = async (): Promise<void> => {
      for await (const item of this.source) {
        await channels[0].push(item);
        stats.pulled++;
      }
      channels[0].close();
    };

    const runStage = async (i: number): Promise<void> => {
      const { fn, concurrency } = this.stages[i];
      const input = channels[i];
      const output = channels[i + 1];
      const window: Promise<Settled<unknown>>[] = [];
      let pending: Promise<Settled<{ done: true } | { done: false; value: unknown }>> | undefined;
      let inputDone = false;
      let index = 0;
      for (;;) {
        if (!inputDone && !pending && window.length < concurrency) pending = settle(() => input.pull());
        if (window.length === 0 && !pending) break;
        // Take whichever comes first: the next input (to start more work) or the oldest result.
        const next = await Promise.race([
          ...(pending ? [pending.then((r) => ({ kind: 'input' as const, r }))] : []),
          ...(window.length > 0 ? [window[0].then((r) => ({ kind: 'result' as const, r }))] : []),
        ]);
        if (next.kind === 'input') {
          pending = undefined;
          if (!next.r.ok) throw next.r.error;
          if (next.r.value.done) {
            inputDone = true;
            continue;
          }
          const { value } = next.r.value;
          const at = index++;
          window.push(settle(() => fn(value, at)));
          stats.stages[i].maxInFlight = Math.max(stats.stages[i].maxInFlight, window.length);
        } else {
          window.shift();
          if (!next.r.ok) throw next.r.error;
          await output.push(next.r.value);
          stats.stages[i].processed++;
        }
      }
      output.close();
    };

    const drain = async (): Promise<void> => {
      const last = channels[channels.length - 1];
      for (let r = await last.pull(); !r.done; r = await last.pull()) {
        await sink(r.value as Out, stats.delivered);
        stats.delivered++;
      }
    };

    const guard = (task: () => Promise<void>) => () => task().catch(abort);
    await Promise.all([guard(feed)(), ...this.stages.map((_, i) => guard(() => runStage(i))()), guard(drain)()]);
    if (failure) throw failure.error;
    stats.sourceMaxBuffered = channels[0].maxBuffered;
    stats.stages.forEach((s, i) => (s.maxBuffered = channels[i + 1].maxBuffered));
    return stats;
  }

  /** Runs and returns every output in source order (for bounded sources). */
  async collect(): Promise<Out[]> {
    const out: Out[] = [];
    await this.run((item) => {
      out.push(item);
    });
    return out;
  }
}
