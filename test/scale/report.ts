// The scale-out run's results as Markdown (docs/scale-out.md): what ran, the recovery from each
// kill per pattern, the independent checks (as in the chaos run), and the work of each worker.
import type { PatternCheck, PatternLoad, PatternName } from '../chaos/load';
import { checkTable, loadTable, PATTERN_TITLES } from '../chaos/report';
import type { ClusterFaultRecord, ClusterPatternEffect } from './cluster-faults';
import type { ScaleOptions, WorkerShare } from './run';

export interface ScaleSummary {
  command: string;
  startedAt: Date;
  totalSeconds: number;
  loadSeconds: number;
  machine: { cpus: number; memoryGiB: number; load: { min: number; max: number; mean: number } };
  note: string;
  options: ScaleOptions;
  loads: PatternLoad[];
  faults: ClusterFaultRecord[];
  checks: PatternCheck[];
  shares: WorkerShare[];
}

const FAULT_TITLES: Record<string, string> = {
  worker: 'a worker',
  'temporal-history': 'a Temporal history node',
  'redis-primary': 'a Redis primary',
  'kafka-leader': 'a Kafka partition leader',
  'nats-leader': 'a NATS stream leader',
};

const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const n = (x: number): string => Math.round(x).toLocaleString('en-US');

/** A stall no longer than this, or than twice the usual gap before the kill, is not a stall. */
const NOTABLE_STALL_MS = 2000;

function effectCell(e: ClusterPatternEffect | undefined): string {
  if (!e) return '—';
  if (e.idle) return 'no work left';
  if (e.recoveryMs === null) return `**no progress** (${s(e.stallMs)} without)`;
  if (e.stallMs <= Math.max(NOTABLE_STALL_MS, 2 * e.usualGapMs)) return `no stall (longest gap ${s(e.stallMs)})`;
  return `**${s(e.recoveryMs)}** (stalled ${s(e.stallMs)})`;
}

function shareTable(shares: readonly WorkerShare[]): string[] {
  const patterns: PatternName[] = ['multicast', 'cdc', 'saga', 'sessions'];
  const total = (pick: (w: WorkerShare) => number): number => shares.reduce((a, w) => a + pick(w), 0);
  const pct = (x: number, of: number): string => (of > 0 ? ` (${Math.round((100 * x) / of)} %)` : '');
  const cell = (w: WorkerShare, pick: (w: WorkerShare) => number): string =>
    `${n(pick(w))}${pct(pick(w), total(pick))}`;
  const activities = (p: PatternName) => (w: WorkerShare) => w.activities[p] ?? 0;
  const tasks = (w: WorkerShare): number => Object.values(w.workflowTasks).reduce((a, b) => a + b, 0);
  const driver = (w: WorkerShare): number => Object.values(w.driverOperations).reduce((a, b) => a + b, 0);
  return [
    `| worker | processes | ${patterns.map((p) => `${PATTERN_TITLES[p]} activities`).join(' | ')} | workflow tasks | guarded driver calls |`,
    `|---|---|${patterns.map(() => '---|').join('')}---|---|`,
    ...shares.map(
      (w) =>
        `| ${w.worker} | ${w.incarnations} | ${patterns.map((p) => cell(w, activities(p))).join(' | ')} | ${cell(w, tasks)} | ${cell(w, driver)} |`,
    ),
  ];
}

export function renderScaleReport(r: ScaleSummary): string {
  const patterns = r.loads.map((l) => l.name);
  const allOk = r.checks.every((c) => c.ok);
  return [
    '# Scale-out: the four patterns on the cluster, with nodes killed',
    '',
    "The chaos run's four loads (test/chaos: multicast, CDC, sagas, sessions in two regions, with",
    'the same independent checks) run at once on the loopback cluster of `scripts/cluster`',
    '([cluster.md](cluster.md): Temporal with PostgreSQL persistence in three processes, Redis Cluster',
    '3+3, Kafka 3 brokers with replication 3, NATS 3 nodes with R3 streams), served by several worker',
    'processes on one task queue, while one process at a time is killed with SIGKILL and started',
    'again. Reproduce with `scripts/scale-test` (see "Running it" below this report).',
    '',
    `## Latest run: ${allOk ? 'every check passed' : 'SOME CHECKS FAILED'}`,
    '',
    `- command: \`${r.command}\``,
    `- started ${r.startedAt.toISOString()}, ${s(r.totalSeconds * 1000)} in all (cluster check and set-up included), load until the last pattern finished ${s(r.loadSeconds * 1000)}`,
    `- ${r.options.workers} workers on task queue \`prism-scale\`; faults: ${r.options.faults.map((f) => `${f.kind} (down ${f.downSeconds} s)`).join(', ')}`,
    `- machine: ${r.machine.cpus} CPUs, ${r.machine.memoryGiB} GiB; 1-minute load average during the run min ${r.machine.load.min.toFixed(1)}, mean ${r.machine.load.mean.toFixed(1)}, max ${r.machine.load.max.toFixed(1)}`,
    ...(r.note ? [`- meanwhile: ${r.note}`] : []),
    '',
    '### Load',
    '',
    ...loadTable(r.loads),
    '',
    '### Faults: recovery per pattern',
    '',
    'Per pattern: **kill → progress again** after the longest stall (no progress seen) that followed',
    'the kill, with that stall in brackets; "no stall" when no gap was longer than 2 s (or twice the',
    'longest gap of the 30 s before the kill). Breakers: backends whose circuit breaker some worker',
    'reported not closed after the kill (scraped every 2 s), and kill → the last scrape that did.',
    '',
    `| fault | process killed | at | restarted after | ${patterns.map((p) => PATTERN_TITLES[p]).join(' | ')} | breakers |`,
    `|---|---|---|---|${patterns.map(() => '---|').join('')}---|`,
    ...r.faults.map(
      (f) =>
        `| ${FAULT_TITLES[f.kind] ?? f.kind} | ${f.victim} (${f.reason}) | ${f.killedAt.toFixed(0)} s | ${s(f.restartedAfterMs)} | ${patterns
          .map((p) => effectCell(f.effects[p]))
          .join(
            ' | ',
          )} | ${f.breakers.backends.length ? `${f.breakers.backends.join(', ')}: closed by ${s(f.breakers.closedAfterMs ?? 0)}` : 'stayed closed'} |`,
    ),
    '',
    '### Checks (independent clients, as in the chaos run)',
    '',
    ...checkTable(r.checks),
    '### How the work spread over the workers',
    '',
    "From each worker's `/metrics`: activities completed by pattern",
    '(`prism_temporal_activity_execution_latency_seconds_count` by activity type), workflow tasks',
    '(`prism_temporal_workflow_task_execution_latency_seconds_count`) and guarded driver calls',
    '(`prism_driver_operations_total`, all operations), summed over the processes of a worker slot (a',
    "SIGKILLed worker's last scrape, at most 2 s old, counts for it). Percent: share of the column's",
    'total. A long-running activity (the CDC pump, a session replication loop) counts once, when it',
    'ends; a multicast page (up to 10,000 targets) is one activity and one guarded call.',
    '',
    ...shareTable(r.shares),
    '',
  ].join('\n');
}
