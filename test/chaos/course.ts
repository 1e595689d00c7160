// The course every fault run takes, on the private stack (run.ts) or on the loopback cluster
// (test/scale): the four pattern loads built together, prepared, started, faulted in turn, drained
// and checked with independent clients. Only the faults and what is measured around them differ.
import type { PrismClient } from '../../src/client/prism-client';
import { CdcLoad } from './cdc-load';
import { until, type PatternCheck, type PatternLoad } from './load';
import { MulticastLoad } from './multicast-load';
import { SagaLoad } from './saga-load';
import { SessionsLoad } from './sessions-load';
import type { LoadTarget } from './target';

export interface LoadSizes {
  /** Names this run's registry, CDC pipeline, topics and orders. */
  runId: string;
  registry: string;
  identities: number;
  cdcChanges: number;
  sagas: number;
  /** Session writes per second over both regions, and how many writes at most. */
  sessionRate: number;
  sessionWrites: number;
  /** CDC writes and saga starts are spread over this long; sessions write at least this long. */
  loadSeconds: number;
}

export interface FourLoads {
  multicast: MulticastLoad;
  cdc: CdcLoad;
  saga: SagaLoad;
  sessions: SessionsLoad;
  /** The four, in the order the report lists them. */
  all: PatternLoad[];
}

export function fourLoads(target: LoadTarget, prism: PrismClient, sizes: LoadSizes, deadline: number): FourLoads {
  const multicast = new MulticastLoad(target, prism, sizes.registry, sizes.identities, deadline);
  const cdc = new CdcLoad(target, prism, sizes.runId, sizes.cdcChanges, sizes.loadSeconds, deadline);
  const saga = new SagaLoad(target, prism, sizes.runId, sizes.sagas, sizes.loadSeconds, deadline);
  const sessions = new SessionsLoad(target, prism, sizes.sessionRate, sizes.sessionWrites, deadline);
  return { multicast, cdc, saga, sessions, all: [multicast, cdc, saga, sessions] };
}

export interface CourseTimes {
  identities: number;
  loadSeconds: number;
  /** The first fault waits for a quarter of the multicast to be heard, or this long. */
  firstFaultAfterSeconds: number;
  /** After the faults: how long the loads may take to finish and be observed. */
  drainSeconds: number;
}

export interface CourseResult<F> {
  faults: F;
  /** When the load started, and when every load had finished (or the drain ran out). */
  startedAt: number;
  drainedAt: number;
  checks: PatternCheck[];
}

/**
 * Prepares and starts the loads, runs the faults once a quarter of the multicast was heard, lets
 * the sessions write for the load's time at least, drains and checks. `started` is called as the
 * load starts, `drained` once every load finished, before the checks.
 */
export async function runCourse<F>(
  loads: FourLoads,
  times: CourseTimes,
  faults: (startedAt: number) => Promise<F>,
  log: (line: string) => void,
  hooks: { started?: () => void; drained?: () => void } = {},
): Promise<CourseResult<F>> {
  log('preparing the loads (registering identities, creating sessions, starting the CDC pipeline)');
  await Promise.all(loads.all.map((l) => l.prepare()));
  log('load started');
  const startedAt = Date.now();
  for (const l of loads.all) l.start();
  hooks.started?.();
  await until(
    () => loads.multicast.progress() >= times.identities / 4,
    startedAt + times.firstFaultAfterSeconds * 1000,
  );
  const faulted = await faults(startedAt);
  await until(() => false, startedAt + times.loadSeconds * 1000);
  loads.sessions.stop();
  log('faults done; waiting for the loads to finish');
  const drainDeadline = Date.now() + times.drainSeconds * 1000;
  await Promise.all(loads.all.map((l) => l.finish(drainDeadline)));
  const drainedAt = Date.now();
  hooks.drained?.();
  log('checking with independent clients');
  const checks = await checkAll(loads.all, log);
  return { faults: faulted, startedAt, drainedAt, checks };
}

/** Each load's check in turn (a check that throws is a failed check), logged. */
export async function checkAll(loads: readonly PatternLoad[], log: (line: string) => void): Promise<PatternCheck[]> {
  const checks: PatternCheck[] = [];
  for (const l of loads) {
    const c = await l.check().catch((err: Error): PatternCheck => ({
      pattern: l.name,
      ok: false,
      counts: {},
      problems: [`check failed: ${err.message}`],
    }));
    log(
      `${l.name}: ${c.ok ? 'pass' : 'FAIL'} ${JSON.stringify(c.counts)}${c.problems.length ? `\n  ${c.problems.join('\n  ')}` : ''}`,
    );
    checks.push(c);
  }
  return checks;
}
