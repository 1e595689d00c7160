// CPU time of a process (user + system, every thread), read from /proc/<pid>/stat, and the share
// of one core it used over an interval.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** Seconds of CPU the process has used so far, or NaN when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at state: utime is the 12th, stime the 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return NaN;
  }
}

/** % of one core the process used over the next ms milliseconds. */
export async function cpuPercentOver(pid: number, ms: number): Promise<number> {
  const before = cpuSeconds(pid);
  const t = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  return ((cpuSeconds(pid) - before) / ((performance.now() - t) / 1000)) * 100;
}
