// scripts/chaos: the chaos run from the command line.
//   scripts/chaos                 the scale, report to docs/reliability.md
//   scripts/chaos --scale 0.2     every count × 0.2 (durations and faults unchanged)
//   scripts/chaos --short         the CI size (report only with --out)
//   --out FILE  --note "what else ran"  --keep-stack (leave the chaos stack running)
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FULL, runChaos, scaled, SHORT, type ChaosOptions } from './run';

const ROOT = resolve(__dirname, '../../..');

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      short: { type: 'boolean', default: false },
      scale: { type: 'string' },
      out: { type: 'string' },
      note: { type: 'string' },
      'keep-stack': { type: 'boolean', default: false },
    },
  });
  let options: ChaosOptions = FULL;
  if (values.short) options = SHORT;
  else if (values.scale !== undefined) {
    const factor = Number(values.scale);
    if (!(factor > 0 && factor <= 1)) throw new Error(`--scale: expected a number in (0, 1], got "${values.scale}"`);
    options = scaled(factor);
  }
  const reportFile = values.out ?? (values.short ? undefined : join(ROOT, 'docs/reliability.md'));
  const result = await runChaos(options, {
    command: ['scripts/chaos', ...argv.filter((a) => !a.startsWith('--note') && a !== values.note)].join(' '),
    note: values.note,
    reportFile,
    stopStack: !values['keep-stack'],
  });
  process.stdout.write(`\n${result.report}\n`);
  return result.ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`chaos: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
