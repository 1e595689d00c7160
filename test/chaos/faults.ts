// The faults of a chaos run, injected one after another, and what each did to every pattern: a
// timeline of progress counts sampled while it ran, from which the recovery time is read.
import type { PatternLoad, PatternName } from './load';
import { sleep, until } from './load';
import type { ChaosService, ChaosStack } from './stack';

export type FaultKind = 'worker-sigkill' | 'temporal-restart' | `${Exclude<ChaosService, 'temporal'>}-stop`;

export interface FaultSpec {
  kind: FaultKind;
  /** How long the service stays down (a SIGKILLed worker: until it is started again). */
  downSeconds: number;
}

export interface PatternEffect {
  /** Progress the pattern's observer saw while the fault lasted (inject → restored). */
  duringFault: number;
  /** Restored → the pattern's first progress after it; null: no progress before the next step. */
  recoveryMs: number | null;
  /** The pattern had no work left when the fault was repaired, or finished without progress after it. */
  idle: boolean;
}

export interface FaultRecord {
  kind: FaultKind;
  /** Seconds from the start of the load. */
  injectedAt: number;
  /** Inject → the service answering again (a worker: /ready). */
  outageMs: number;
  effects: Record<PatternName, PatternEffect>;
}

export interface FaultControls {
  stack: ChaosStack;
  /** SIGKILLs the worker process; resolves once it is gone. */
  killWorker(): Promise<void>;
  /** Starts a worker again; resolves once it is ready. */
  startWorker(): Promise<void>;
}

async function inject(f: FaultSpec, c: FaultControls): Promise<void> {
  if (f.kind === 'worker-sigkill') {
    await c.killWorker();
    await sleep(f.downSeconds * 1000);
    await c.startWorker();
    return;
  }
  if (f.kind === 'temporal-restart') {
    await c.stack.down(['temporal']);
    await sleep(f.downSeconds * 1000);
    await c.stack.up(['temporal']);
    return;
  }
  const service = f.kind.replace(/-stop$/, '') as ChaosService;
  await c.stack.down([service]);
  await sleep(f.downSeconds * 1000);
  await c.stack.up([service]);
}

/**
 * Injects each fault in turn. After each, waits until every pattern with work left made progress
 * again (or recoveryLimitMs), then settleMs more, so faults do not overlap.
 */
export async function runFaults(
  faults: readonly FaultSpec[],
  controls: FaultControls,
  loads: readonly PatternLoad[],
  t0: number,
  options: { recoveryLimitMs: number; settleMs: number; log: (line: string) => void },
): Promise<FaultRecord[]> {
  const records: FaultRecord[] = [];
  for (const f of faults) {
    const before = new Map(loads.map((l) => [l.name, l.progress()]));
    const injected = Date.now();
    options.log(`fault ${f.kind}: injecting (down ${f.downSeconds} s)`);
    await inject(f, controls);
    const restored = Date.now();
    options.log(`fault ${f.kind}: restored after ${((restored - injected) / 1000).toFixed(1)} s`);
    const atRestore = new Map(loads.map((l) => [l.name, l.progress()]));
    const idle = new Map(loads.map((l) => [l.name, !l.pending()]));
    const recovered = new Map<PatternName, number>();
    const deadline = restored + options.recoveryLimitMs;
    await until(
      () => {
        for (const l of loads) {
          if (!recovered.has(l.name) && l.progress() > atRestore.get(l.name)!) recovered.set(l.name, Date.now());
        }
        return loads.every((l) => recovered.has(l.name) || idle.get(l.name) || !l.pending());
      },
      deadline,
      100,
    );
    const effects = Object.fromEntries(
      loads.map((l) => [
        l.name,
        {
          duringFault: atRestore.get(l.name)! - before.get(l.name)!,
          recoveryMs: recovered.has(l.name) ? recovered.get(l.name)! - restored : null,
          // No work at the repair, or finished since without more progress to see.
          idle: !recovered.has(l.name) && (idle.get(l.name)! || !l.pending()),
        },
      ]),
    ) as Record<PatternName, PatternEffect>;
    records.push({ kind: f.kind, injectedAt: (injected - t0) / 1000, outageMs: restored - injected, effects });
    const summary = loads
      .map((l) => {
        const e = effects[l.name];
        return `${l.name} ${e.idle ? 'idle' : e.recoveryMs === null ? 'NOT recovered' : `${(e.recoveryMs / 1000).toFixed(1)} s`}`;
      })
      .join(', ');
    options.log(`fault ${f.kind}: recovery ${summary}`);
    await sleep(options.settleMs);
  }
  return records;
}
