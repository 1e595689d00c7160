// Resident memory of a process, read from /proc/<pid>/status (VmRSS: every thread, the Rust core of
// a Temporal worker included), once or sampled at an interval while something runs.
import { readFileSync } from 'node:fs';

/** The process's resident set in MiB, or NaN when it is gone (or /proc is not there). */
export function rssMiB(pid: number): number {
  try {
    const kib = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib === undefined ? NaN : Number(kib) / 1024;
  } catch {
    return NaN;
  }
}

export interface RssSampler {
  /** Stops sampling and returns the samples (MiB), one taken now included. */
  stop(): number[];
}

/** Samples pid's RSS every intervalMs from now until stop(). */
export function sampleRss(pid: number, intervalMs = 100): RssSampler {
  const samples: number[] = [rssMiB(pid)];
  const timer = setInterval(() => samples.push(rssMiB(pid)), intervalMs);
  return {
    stop() {
      clearInterval(timer);
      samples.push(rssMiB(pid));
      return samples.filter((s) => !Number.isNaN(s));
    },
  };
}

/** Samples pid's RSS for ms milliseconds (nothing else asked of it meanwhile: the idle figure). */
export async function sampleRssFor(pid: number, ms: number, intervalMs = 100): Promise<number[]> {
  const sampler = sampleRss(pid, intervalMs);
  await new Promise((r) => setTimeout(r, ms));
  return sampler.stop();
}
