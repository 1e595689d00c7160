// The chaos run's results as Markdown (docs/reliability.md): what ran, on what machine, what each
// fault did to each pattern, and what the independent checks found.
import type { FaultRecord } from './faults';
import type { PatternCheck, PatternLoad, PatternName } from './load';

export interface RunSummary {
  command: string;
  startedAt: Date;
  totalSeconds: number;
  /** Seconds from starting the load to the last check. */
  loadSeconds: number;
  machine: { cpus: number; memoryGiB: number; load: { min: number; max: number; mean: number } };
  note: string;
  loads: PatternLoad[];
  faults: FaultRecord[];
  checks: PatternCheck[];
}

export const PATTERN_TITLES: Record<PatternName, string> = {
  multicast: 'multicast registry',
  cdc: 'CDC',
  saga: 'saga',
  sessions: 'session store',
};

const FAULT_TITLES: Record<string, string> = {
  'worker-sigkill': 'worker SIGKILL, started again',
  'temporal-restart': 'Temporal server restart',
  'redis-stop': 'Redis stopped',
  'nats-stop': 'NATS stopped',
  'postgres-stop': 'Postgres stopped',
  'kafka-stop': 'Kafka stopped',
};

const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function effectCell(r: FaultRecord, p: PatternName): string {
  const e = r.effects[p];
  if (!e) return '—';
  if (e.idle) return `no work left (${e.duringFault.toLocaleString('en-US')} during)`;
  if (e.recoveryMs === null) return `**no progress** (${e.duringFault} during)`;
  return `${s(e.recoveryMs)} (${e.duringFault.toLocaleString('en-US')} during)`;
}

export function renderReport(r: RunSummary): string {
  const patterns = r.loads.map((l) => l.name);
  const lines: string[] = [];
  const allOk = r.checks.every((c) => c.ok);
  lines.push(
    '# Reliability: the chaos run',
    '',
    'All four patterns run at once on a private stack (Temporal, Postgres, Redis, NATS, Kafka on',
    'ports 16500–16599, data under `.stack/chaos/`) while faults are injected one after another:',
    'the worker is SIGKILLed and started again, the Temporal server is restarted, and Redis, NATS,',
    'Postgres and Kafka are each stopped for a while and started again. Afterwards, clients that are',
    'not the product (raw ioredis, a raw NATS subscriber started before the multicast, a raw kafkajs',
    'consumer, raw pg) check the outcome. Reproduce with `scripts/chaos` (full scale) or',
    '`scripts/chaos --short` (the CI size); see the README’s "Chaos run" section for options.',
    '',
    '**How to read the fault table.** For each fault and pattern: the *recovery time*, from the',
    'moment the fault was repaired (the service answered again, or the new worker was ready) to the',
    'first progress an independent observer saw afterwards; in brackets, the progress seen while the',
    'fault lasted. Progress is: multicast messages heard by the raw NATS subscriber; CDC records',
    'on the sink topic (Kafka high watermark, raw kafkajs admin); sagas finished; session writes',
    'acknowledged. A pattern unaffected by a fault shows a recovery near 0 s and progress during it;',
    '"no work left": the pattern had finished its load by the time the fault was repaired.',
    '',
    `## Latest run: ${allOk ? 'every check passed' : 'SOME CHECKS FAILED'}`,
    '',
    `- command: \`${r.command}\``,
    `- started ${r.startedAt.toISOString()}, ${s(r.totalSeconds * 1000)} in all (set-up included), load and checks ${s(r.loadSeconds * 1000)}`,
    `- machine: ${r.machine.cpus} CPUs, ${r.machine.memoryGiB} GiB; 1-minute load average during the run min ${r.machine.load.min.toFixed(1)}, mean ${r.machine.load.mean.toFixed(1)}, max ${r.machine.load.max.toFixed(1)}`,
    ...(r.note ? [`- meanwhile: ${r.note}`] : []),
    '',
    '### Load',
    '',
    ...loadTable(r.loads),
    '',
    '### Faults × patterns: recovery time (progress during the fault)',
    '',
    `| fault | injected at | repaired after | ${patterns.map((p) => PATTERN_TITLES[p]).join(' | ')} |`,
    `|---|---|---|${patterns.map(() => '---|').join('')}`,
    ...r.faults.map(
      (f) =>
        `| ${FAULT_TITLES[f.kind] ?? f.kind} | ${f.injectedAt.toFixed(0)} s | ${s(f.outageMs)} | ${patterns.map((p) => effectCell(f, p)).join(' | ')} |`,
    ),
    '',
    '### Checks (independent clients)',
    '',
    ...checkTable(r.checks),
  );
  return lines.join('\n');
}

/** The loads as a Markdown table. */
export function loadTable(loads: readonly PatternLoad[]): string[] {
  return ['| pattern | load |', '|---|---|', ...loads.map((l) => `| ${PATTERN_TITLES[l.name]} | ${l.describe()} |`)];
}

/** The independent checks as a Markdown table, then what did not hold (if anything). */
export function checkTable(checks: readonly PatternCheck[]): string[] {
  const lines = [
    '| pattern | result | counts |',
    '|---|---|---|',
    ...checks.map(
      (c) =>
        `| ${PATTERN_TITLES[c.pattern]} | ${c.ok ? 'pass' : '**FAIL**'} | ${Object.entries(c.counts)
          .map(([k, v]) => `${k} ${typeof v === 'number' ? v.toLocaleString('en-US') : v}`)
          .join('; ')} |`,
    ),
    '',
  ];
  const problems = checks.flatMap((c) => c.problems.map((p) => `- ${PATTERN_TITLES[c.pattern]}: ${p}`));
  if (problems.length > 0) lines.push('### What did not hold', '', ...problems, '');
  return lines;
}

/** Hand-written notes below this line in the report survive a new run. */
export const NOTES_MARKER = '<!-- notes: written by hand, kept by scripts/chaos -->';

/** The new report, followed by the notes section of the previous one (if any). */
export function withNotes(report: string, previous: string | undefined): string {
  const at = previous?.indexOf(NOTES_MARKER) ?? -1;
  const notes = at >= 0 ? previous!.slice(at) : `${NOTES_MARKER}\n`;
  return `${report}\n${notes}`;
}
