// scripts/scale-test: the scale-out run from the command line.
//   scripts/scale-test                   the size, report to docs/scale-out.md
//   scripts/scale-test --short           small numbers, two faults (report only with --out)
//   scripts/scale-test --scale 0.2       FULL's counts and rates × 0.2 (durations, faults unchanged)
//   --faults worker,redis-primary,…      which faults, in order (default: all five, or the short two)
//   --workers N  --out FILE  --note "what else ran on the machine"
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CLUSTER_FAULTS, type ClusterFaultKind } from './cluster-faults';
import { FULL, runScale, scaled, SHORT, type ScaleOptions } from './run';

const ROOT = resolve(__dirname, '../../..');

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      short: { type: 'boolean', default: false },
      scale: { type: 'string' },
      faults: { type: 'string' },
      workers: { type: 'string' },
      out: { type: 'string' },
      note: { type: 'string' },
    },
  });
  let options: ScaleOptions = FULL;
  if (values.short) options = SHORT;
  else if (values.scale !== undefined) {
    const factor = Number(values.scale);
    if (!(factor > 0 && factor <= 1)) throw new Error(`--scale: expected a number in (0, 1], got "${values.scale}"`);
    options = scaled(factor);
  }
  if (values.faults !== undefined) {
    const kinds = values.faults.split(',').filter(Boolean);
    const unknown = kinds.filter((k) => !CLUSTER_FAULTS.includes(k as ClusterFaultKind));
    if (unknown.length > 0)
      throw new Error(`--faults: unknown ${unknown.join(', ')} (known: ${CLUSTER_FAULTS.join(', ')})`);
    const down = (k: string): number =>
      options.faults.find((f) => f.kind === k)?.downSeconds ?? FULL.faults.find((f) => f.kind === k)!.downSeconds;
    options = { ...options, faults: kinds.map((k) => ({ kind: k as ClusterFaultKind, downSeconds: down(k) })) };
  }
  if (values.workers !== undefined) {
    const workers = Number(values.workers);
    if (!Number.isInteger(workers) || workers < 1 || workers > 9)
      throw new Error(`--workers: expected an integer 1–9, got "${values.workers}"`);
    options = { ...options, workers };
  }
  const reportFile = values.out ?? (values.short ? undefined : join(ROOT, 'docs/scale-out.md'));
  const result = await runScale(options, {
    command: ['scripts/scale-test', ...argv.filter((a) => !a.startsWith('--note') && a !== values.note)].join(' '),
    note: values.note,
    reportFile,
  });
  process.stdout.write(`\n${result.report}\n`);
  return result.ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`scale-test: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
