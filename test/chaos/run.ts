// The chaos run: all four patterns under load at once on a private stack, faults injected in
// turn, then independent checks and a report. `runChaos` is used by scripts/chaos (through main)
// and, with small numbers, by the CI test (chaos.test.ts).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { PrismClient } from '../../src/client/prism-client';
import { startWorker, type WorkerProcess } from '../helpers/worker-process';
import { chaosTarget, TASK_QUEUE, workerConfig } from './config';
import { fourLoads, runCourse } from './course';
import { runFaults, type FaultRecord, type FaultSpec } from './faults';
import type { PatternCheck, PatternLoad } from './load';
import { renderReport, withNotes, type RunSummary } from './report';
import { ChaosStack } from './stack';

export interface ChaosOptions {
  identities: number;
  cdcChanges: number;
  sagas: number;
  /** Session writes per second over both regions. */
  sessionRate: number;
  /** CDC writes and saga starts are spread over this long; sessions write at least this long. */
  loadSeconds: number;
  faults: FaultSpec[];
  /** The first fault waits for a quarter of the multicast to be heard, or this long. */
  firstFaultAfterSeconds: number;
  recoveryLimitSeconds: number;
  settleSeconds: number;
  /** After the faults: how long the loads may take to finish and be observed. */
  drainSeconds: number;
}

const ALL_FAULTS = (down: number): FaultSpec[] => [
  { kind: 'worker-sigkill', downSeconds: 3 },
  { kind: 'temporal-restart', downSeconds: 5 },
  { kind: 'redis-stop', downSeconds: down },
  { kind: 'nats-stop', downSeconds: down },
  { kind: 'postgres-stop', downSeconds: down },
  { kind: 'kafka-stop', downSeconds: down },
];

/** The scale: 100,000 identities, 100,000 CDC changes, 1,000 sagas, 1,000 session writes/s. */
export const FULL: ChaosOptions = {
  identities: 100_000,
  cdcChanges: 100_000,
  sagas: 1_000,
  sessionRate: 1_000,
  loadSeconds: 240,
  faults: ALL_FAULTS(15),
  firstFaultAfterSeconds: 20,
  recoveryLimitSeconds: 120,
  settleSeconds: 5,
  drainSeconds: 600,
};

/** The CI size: a few minutes, two faults. */
export const SHORT: ChaosOptions = {
  identities: 2_000,
  cdcChanges: 2_000,
  sagas: 30,
  sessionRate: 50,
  loadSeconds: 20,
  faults: [
    { kind: 'worker-sigkill', downSeconds: 2 },
    { kind: 'redis-stop', downSeconds: 10 },
  ],
  firstFaultAfterSeconds: 3,
  recoveryLimitSeconds: 60,
  settleSeconds: 2,
  drainSeconds: 120,
};

/** FULL with every count multiplied by `factor` (durations and faults unchanged). */
export function scaled(factor: number): ChaosOptions {
  const n = (x: number, min: number): number => Math.max(min, Math.round(x * factor));
  return {
    ...FULL,
    identities: n(FULL.identities, 10),
    cdcChanges: n(FULL.cdcChanges, 100),
    sagas: n(FULL.sagas, 5),
    sessionRate: n(FULL.sessionRate, 10),
  };
}

export interface ChaosResult {
  ok: boolean;
  checks: PatternCheck[];
  faults: FaultRecord[];
  report: string;
}

/** Samples the 1-minute load average while the run lasts. */
export function loadSampler(): { stop(): { min: number; max: number; mean: number } } {
  const samples = [loadavg()[0]!];
  const timer = setInterval(() => samples.push(loadavg()[0]!), 5000);
  return {
    stop() {
      clearInterval(timer);
      return {
        min: Math.min(...samples),
        max: Math.max(...samples),
        mean: samples.reduce((a, b) => a + b, 0) / samples.length,
      };
    },
  };
}

/** Leftovers of earlier runs on the private stack: Redis data and CDC slots (they keep WAL). */
async function clean(stack: ChaosStack): Promise<void> {
  const redis = new Redis(stack.redisUrl(0));
  try {
    await redis.flushall();
  } finally {
    redis.disconnect();
  }
  const pg = new Client({ connectionString: stack.postgresUrl });
  await pg.connect();
  try {
    await pg.query(
      `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE 'prism_cdc_chaos_%' AND NOT active`,
    );
  } finally {
    await pg.end();
  }
}

/** Executions an earlier run left running on the private Temporal (an interrupted run's pipeline). */
export async function terminateLeftovers(prism: PrismClient): Promise<void> {
  const running: string[] = [];
  for await (const w of prism.temporal.workflow.list({ query: 'ExecutionStatus="Running"' })) {
    running.push(w.workflowId);
    if (running.length >= 10_000) break;
  }
  for (const id of running) {
    await prism
      .handle(id)
      .terminate('left over by an earlier chaos run')
      .catch(() => undefined);
  }
}

/** Writes the report to `file`, keeping the hand-written notes of the one there. */
export function writeReport(file: string, report: string, log: (line: string) => void): void {
  const previous = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  writeFileSync(file, withNotes(report, previous));
  log(`report written to ${file}`);
}

export async function runChaos(
  options: ChaosOptions,
  run: {
    command: string;
    note?: string;
    /** Where the report goes (its hand-written notes are kept); none: not written. */
    reportFile?: string;
    /** Stop the chaos stack at the end (default true). */
    stopStack?: boolean;
    log?: (line: string) => void;
  },
): Promise<ChaosResult> {
  const began = Date.now();
  const log =
    run.log ??
    ((line: string) => process.stdout.write(`[chaos ${((Date.now() - began) / 1000).toFixed(0)}s] ${line}\n`));
  const stack = new ChaosStack();
  const sampler = loadSampler();
  const config = workerConfig(stack);
  const runId = `r${Date.now().toString(36)}`;
  const logDir = join(stack.dir, 'log');
  let worker: WorkerProcess | undefined;
  let workers = 0;
  const keepWorkerLog = (): void => {
    if (!worker) return;
    mkdirSync(logDir, { recursive: true });
    writeFileSync(join(logDir, `worker-${runId}-${workers}.log`), worker.output());
  };
  let running: PatternLoad[] = [];
  let prism: PrismClient | undefined;
  try {
    log('starting the chaos stack');
    await stack.up();
    await clean(stack);
    worker = await startWorker(config, { readyTimeoutMs: 120_000 });
    workers++;
    log(`worker ready (pid ${worker.proc.pid})`);
    prism = await PrismClient.connect({
      address: stack.temporalAddress,
      taskQueue: TASK_QUEUE,
      uiUrl: stack.temporalUi,
    });
    await terminateLeftovers(prism);
    const hardDeadline =
      Date.now() +
      (options.loadSeconds +
        options.faults.length * (options.recoveryLimitSeconds + options.settleSeconds + 60) +
        options.drainSeconds +
        600) *
        1000;
    const loads = fourLoads(
      chaosTarget(stack),
      prism,
      {
        runId,
        registry: `chaos-${runId}`,
        identities: options.identities,
        cdcChanges: options.cdcChanges,
        sagas: options.sagas,
        sessionRate: options.sessionRate,
        sessionWrites: options.sessionRate * (options.loadSeconds + options.faults.length * 90),
        loadSeconds: options.loadSeconds,
      },
      hardDeadline,
    );
    running = loads.all;
    const { faults, startedAt, checks } = await runCourse(
      loads,
      options,
      (t0) =>
        runFaults(
          options.faults,
          {
            stack,
            killWorker: async () => {
              keepWorkerLog();
              await worker!.stop('SIGKILL');
            },
            startWorker: async () => {
              worker = await startWorker(config, { readyTimeoutMs: 120_000 });
              workers++;
            },
          },
          loads.all,
          t0,
          { recoveryLimitMs: options.recoveryLimitSeconds * 1000, settleMs: options.settleSeconds * 1000, log },
        ),
      log,
    );
    const ended = Date.now();
    const summary: RunSummary = {
      command: run.command,
      startedAt: new Date(began),
      totalSeconds: (ended - began) / 1000,
      loadSeconds: (ended - startedAt) / 1000,
      machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), load: sampler.stop() },
      note: run.note ?? '',
      loads: loads.all,
      faults,
      checks,
    };
    const report = renderReport(summary);
    if (run.reportFile) writeReport(run.reportFile, report, log);
    return { ok: checks.every((c) => c.ok), checks, faults, report };
  } finally {
    sampler.stop();
    for (const l of running) await l.close().catch(() => undefined);
    await prism?.close().catch(() => undefined);
    keepWorkerLog();
    if (worker) {
      const stopped = worker.stop('SIGTERM');
      const timer = setTimeout(() => worker!.proc.kill('SIGKILL'), 20_000);
      await stopped;
      clearTimeout(timer);
    }
    if (run.stopStack !== false) await stack.down().catch(() => undefined);
  }
}
