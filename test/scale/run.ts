// The scale-out run: the four chaos loads (test/chaos) at once on the loopback cluster of
// scripts/cluster, served by several workers on one task queue, while one process of the cluster
// at a time is killed with SIGKILL and started again; then the chaos run's independent checks,
// the recovery per fault and the work each worker did (from its /metrics).
import { execFile } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { PrismClient } from '../../src/client/prism-client';
import { patternsConfig } from '../chaos/config';
import { fourLoads, runCourse } from '../chaos/course';
import type { PatternCheck, PatternLoad } from '../chaos/load';
import { loadSampler, terminateLeftovers, writeReport } from '../chaos/run';
import type { LoadTarget } from '../chaos/target';
import {
  runClusterFaults,
  ProgressTimeline,
  measureEffects,
  type ClusterFaultRecord,
  type ClusterFaultSpec,
} from './cluster-faults';
import { clusterAddresses, clusterTarget, type ClusterAddresses } from './cluster-target';
import { renderScaleReport } from './report';
import { scrapeEvery, WorkerSlot } from './workers';

const ROOT = resolve(__dirname, '../../..');
export const SCALE_TASK_QUEUE = 'prism-scale';
/** Worker n's HTTP (/metrics, /ready) and Temporal SDK metrics ports: within 21300–21399. */
const PORT_BASE = Number(process.env.PRISM_SCALE_PORT_BASE ?? 21300);

export interface ScaleOptions {
  workers: number;
  identities: number;
  /** CDC row changes per second (inserts and updates, 100 per transaction) for loadSeconds. */
  cdcRate: number;
  sagas: number;
  /** Session writes per second over both regions. */
  sessionRate: number;
  /** CDC writes and saga starts are spread over this long; sessions write at least this long. */
  loadSeconds: number;
  faults: ClusterFaultSpec[];
  /** The first fault waits for a quarter of the multicast to be heard, or this long. */
  firstFaultAfterSeconds: number;
  recoveryLimitSeconds: number;
  settleSeconds: number;
  drainSeconds: number;
}

/** The run: 100,000 identities, CDC at 1,000 changes/s, every fault. */
export const FULL: ScaleOptions = {
  workers: 3,
  identities: 100_000,
  cdcRate: 1_000,
  sagas: 1_000,
  sessionRate: 200,
  loadSeconds: 300,
  faults: [
    { kind: 'worker', downSeconds: 5 },
    { kind: 'temporal-history', downSeconds: 20 },
    { kind: 'redis-primary', downSeconds: 20 },
    { kind: 'kafka-leader', downSeconds: 20 },
    { kind: 'nats-leader', downSeconds: 20 },
  ],
  firstFaultAfterSeconds: 30,
  recoveryLimitSeconds: 120,
  settleSeconds: 10,
  drainSeconds: 900,
};

/** A few minutes: small numbers, two faults. */
export const SHORT: ScaleOptions = {
  ...FULL,
  identities: 2_000,
  cdcRate: 100,
  sagas: 40,
  sessionRate: 40,
  loadSeconds: 60,
  faults: [
    { kind: 'worker', downSeconds: 3 },
    { kind: 'redis-primary', downSeconds: 15 },
  ],
  firstFaultAfterSeconds: 5,
  recoveryLimitSeconds: 90,
  settleSeconds: 5,
  drainSeconds: 300,
};

/** FULL with the identities, CDC rate, sagas and session rate multiplied by `factor`. */
export function scaled(factor: number): ScaleOptions {
  const n = (x: number, min: number): number => Math.max(min, Math.round(x * factor));
  return {
    ...FULL,
    identities: n(FULL.identities, 10),
    cdcRate: n(FULL.cdcRate, 10),
    sagas: n(FULL.sagas, 5),
    sessionRate: n(FULL.sessionRate, 10),
  };
}

export function workerConfig(a: ClusterAddresses, target: LoadTarget, index: number): Record<string, unknown> {
  return {
    // Workers poll through the two frontends in turn (in production: a load balancer).
    temporal: { address: a.temporalFrontends[index % a.temporalFrontends.length], task_queue: SCALE_TASK_QUEUE },
    worker: {
      http_port: PORT_BASE + index,
      temporal_metrics_port: PORT_BASE + 10 + index,
      shutdown_grace_time: '5s',
    },
    backends: target.backends(),
    patterns: patternsConfig(),
    logging: { level: 'info' },
  };
}

function cluster(args: string[]): Promise<string> {
  return new Promise((res, rej) => {
    execFile(join(ROOT, 'scripts/cluster'), args, { timeout: 1_800_000 }, (err, out, stderr) => {
      if (err) rej(new Error(`scripts/cluster ${args.join(' ')} failed: ${stderr || err.message}`));
      else res(out);
    });
  });
}

/** Leftovers of earlier runs: the cluster's Redis data, inactive CDC slots and CDC source tables. */
async function clean(a: ClusterAddresses): Promise<void> {
  const nodes = a.redisSeeds.map((s) => ({ host: s.split(':')[0]!, port: Number(s.split(':')[1]) }));
  const redis = new Redis.Cluster(nodes);
  try {
    await Promise.all(redis.nodes('master').map((n) => n.flushall()));
  } finally {
    redis.disconnect();
  }
  const pg = new Client({ connectionString: a.postgresUrl });
  await pg.connect();
  try {
    await pg.query(
      `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE 'prism_cdc_chaos_scale%' AND NOT active`,
    );
    // The CDC source tables of earlier runs (the stack's Postgres is shared: only the run's own names).
    await pg.query(
      `DO $$ DECLARE t text; BEGIN
         FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'chaos\\_cdc\\_scale%' LOOP
           EXECUTE format('DROP TABLE public.%I', t);
         END LOOP;
       END $$`,
    );
  } finally {
    await pg.end();
  }
}

export interface WorkerShare {
  worker: number;
  incarnations: number;
  activities: Record<string, number>;
  workflowTasks: Record<string, number>;
  driverOperations: Record<string, number>;
}

export interface ScaleResult {
  ok: boolean;
  checks: PatternCheck[];
  faults: ClusterFaultRecord[];
  shares: WorkerShare[];
  report: string;
}

export async function runScale(
  options: ScaleOptions,
  run: { command: string; note?: string; reportFile?: string; log?: (line: string) => void },
): Promise<ScaleResult> {
  const began = Date.now();
  const log =
    run.log ??
    ((line: string) => process.stdout.write(`[scale ${((Date.now() - began) / 1000).toFixed(0)}s] ${line}\n`));
  const addresses = clusterAddresses();
  const target = clusterTarget(addresses);
  const sampler = loadSampler();
  // Names of this run: the CDC pipeline and slot, topics, registry, saga orders.
  const runId = `scale${Date.now().toString(36)}`;
  const logDir = join(ROOT, '.stack', 'cluster', 'log', 'scale');
  const slots = Array.from(
    { length: options.workers },
    (_, i) => new WorkerSlot(i, workerConfig(addresses, target, i), logDir),
  );
  let running: PatternLoad[] = [];
  let prism: PrismClient | undefined;
  let stopScraping = (): void => undefined;
  let timeline: ProgressTimeline | undefined;
  try {
    log('scripts/cluster up temporal redis kafka nats (idempotent)');
    await cluster(['up', 'temporal', 'redis', 'kafka', 'nats']);
    await clean(addresses);
    await Promise.all(slots.map((s) => s.start()));
    log(`${slots.length} workers ready (pids ${slots.map((s) => s.pid).join(', ')})`);
    prism = await PrismClient.connect({
      address: addresses.temporalFrontends[addresses.temporalFrontends.length - 1],
      taskQueue: SCALE_TASK_QUEUE,
    });
    await terminateLeftovers(prism);
    const hardDeadline =
      Date.now() +
      (options.loadSeconds +
        options.faults.length * (options.recoveryLimitSeconds + options.settleSeconds + 120) +
        options.drainSeconds +
        900) *
        1000;
    const loads = fourLoads(
      target,
      prism,
      {
        runId,
        registry: `scale-${runId}`,
        identities: options.identities,
        cdcChanges: options.cdcRate * options.loadSeconds,
        sagas: options.sagas,
        sessionRate: options.sessionRate,
        sessionWrites: options.sessionRate * (options.loadSeconds + options.faults.length * 120),
        loadSeconds: options.loadSeconds,
      },
      hardDeadline,
    );
    running = loads.all;
    const breakerLog: { at: number; open: string[] }[] = [];
    const openNow = new Map<number, string[]>();
    stopScraping = scrapeEvery(slots, (slot, work) => {
      openNow.set(slot.index, work.breakersNotClosed);
      breakerLog.push({ at: Date.now(), open: [...new Set([...openNow.values()].flat())] });
    });
    const { faults, startedAt, drainedAt, checks } = await runCourse(
      loads,
      options,
      (t0) =>
        runClusterFaults(
          options.faults,
          { addresses, workers: slots, kafkaTopic: `chaos-cdc-${runId}`, breakerLog },
          loads.all,
          timeline!,
          t0,
          { recoveryLimitMs: options.recoveryLimitSeconds * 1000, settleMs: options.settleSeconds * 1000, log },
        ),
      log,
      {
        started: () => {
          timeline = new ProgressTimeline(loads.all);
          timeline.start();
        },
        drained: () => timeline!.stop(),
      },
    );
    measureEffects(faults, timeline!, startedAt);
    stopScraping();
    await Promise.all(slots.map((s) => s.scrape()));
    const shares: WorkerShare[] = slots.map((s) => ({
      worker: s.index + 1,
      incarnations: s.incarnations,
      ...s.work(),
    }));
    const ended = Date.now();
    const report = renderScaleReport({
      command: run.command,
      startedAt: new Date(began),
      totalSeconds: (ended - began) / 1000,
      loadSeconds: (drainedAt - startedAt) / 1000,
      machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), load: sampler.stop() },
      note: run.note ?? '',
      options,
      loads: loads.all,
      faults,
      checks,
      shares,
    });
    if (run.reportFile) writeReport(run.reportFile, report, log);
    return { ok: checks.every((c) => c.ok), checks, faults, shares, report };
  } finally {
    stopScraping();
    timeline?.stop();
    sampler.stop();
    for (const l of running) await l.close().catch(() => undefined);
    await prism?.close().catch(() => undefined);
    await Promise.all(slots.map((s) => s.stop().catch(() => undefined)));
  }
}
