// What a benchmark case reports: each measurement beside the baseline it is compared with,
// measured in the same run on the same machine.
export interface Measurement {
  /** e.g. "targets/s at 1,000 targets" */
  name: string;
  unit: string;
  /** Whether a larger number is better (throughput) or worse (latency, memory). */
  better: 'higher' | 'lower';
  ours: number;
  baseline: number;
  baselineName: string;
  /** The size of the case, for scaling charts (targets, events, sagas…). */
  size?: number;
  /**
   * For a throughput measured at several sizes: the name shared by its sizes. The runner charts
   * each series' cost per item (1 ÷ throughput) against size, ours beside the baseline.
   */
  series?: string;
}

export interface BenchCase {
  id: string;
  title: string;
  /** A sentence or two for the summary: what is measured and how, where the table alone would not say. */
  about?: string;
  /**
   * One repetition (repetition counts from 0); the runner repeats it and reports the median and
   * spread. A measurement too long to repeat may be returned by the first repetition only: the
   * summary then says how many runs it had.
   */
  run(repetition: number): Promise<Measurement[]>;
  /** Called once after the last repetition (servers the case started for itself). */
  teardown?(): Promise<void>;
}
