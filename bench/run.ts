// Runs every benchmark case (or --only a,b), each repeated (--repeat, default 3), and writes
// bench/results/<date>/: results.json (raw figures), summary.md (medians, spreads, ratios to
// the baseline measured in the same run) and a PNG chart per case.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { barChartSvg, writeChart } from './lib/chart';
import { describeMachine } from './lib/machine';
import { median, relativeSpread } from './lib/stats';
import type { BenchCase, Measurement } from './lib/types';
import { ALL_CASES } from './cases';

interface Summary {
  name: string;
  unit: string;
  better: 'higher' | 'lower';
  baselineName: string;
  size?: number;
  ours: number[];
  baseline: number[];
}

function summarize(runs: Measurement[][]): Summary[] {
  const byName = new Map<string, Summary>();
  for (const run of runs) {
    for (const m of run) {
      const s = byName.get(m.name) ?? { ...m, ours: [], baseline: [] };
      s.ours.push(m.ours);
      s.baseline.push(m.baseline);
      byName.set(m.name, s);
    }
  }
  return [...byName.values()];
}

/** How many times better (>1) or worse (<1) ours is than the baseline. */
function advantage(s: Summary): number {
  const o = median(s.ours);
  const b = median(s.baseline);
  return s.better === 'higher' ? o / b : b / o;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { only: { type: 'string' }, repeat: { type: 'string', default: '3' }, out: { type: 'string' } },
  });
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error('--repeat: expected a positive integer');
  const only = values.only?.split(',');
  const cases: BenchCase[] = only ? ALL_CASES.filter((c) => only.includes(c.id)) : ALL_CASES;
  if (only && cases.length !== only.length) {
    throw new Error(`--only: unknown case among ${only.join(', ')} (cases: ${ALL_CASES.map((c) => c.id).join(', ')})`);
  }

  const date = new Date().toISOString().slice(0, 10);
  const outDir = resolve(values.out ?? join(__dirname, '../../bench/results', date));
  mkdirSync(outDir, { recursive: true });

  const results: { id: string; title: string; summaries: Summary[] }[] = [];
  for (const c of cases) {
    const runs: Measurement[][] = [];
    for (let i = 0; i < repeat; i++) {
      process.stdout.write(`[bench] ${c.id} ${i + 1}/${repeat}\n`);
      runs.push(await c.run());
    }
    results.push({ id: c.id, title: c.title, summaries: summarize(runs) });
  }

  const machine = describeMachine();
  writeFileSync(join(outDir, 'results.json'), JSON.stringify({ date, machine, repeat, results }, null, 2) + '\n');

  const md: string[] = [
    `# Benchmark results ${date}`,
    '',
    `Machine: ${JSON.stringify(machine)}`,
    '',
    `Each figure is the median of ${repeat} runs; spread = (max − min) / median. Ratio = ours ÷ baseline; "advantage" > 1 means Prism did better than the baseline.`,
    '',
  ];
  for (const r of results) {
    md.push(
      `## ${r.title}`,
      '',
      '| measurement | Prism | baseline | ratio | advantage | spread (ours / baseline) |',
      '|---|---:|---:|---:|---:|---:|',
    );
    for (const s of r.summaries) {
      const o = median(s.ours);
      const b = median(s.baseline);
      md.push(
        `| ${s.name} | ${o.toFixed(2)} ${s.unit} | ${b.toFixed(2)} ${s.unit} (${s.baselineName}) | ${(o / b).toFixed(3)} | ${advantage(s).toFixed(2)}× | ${(relativeSpread(s.ours) * 100).toFixed(0)}% / ${(relativeSpread(s.baseline) * 100).toFixed(0)}% |`,
      );
    }
    const byUnit = new Map<string, Summary[]>();
    for (const s of r.summaries) byUnit.set(s.unit, [...(byUnit.get(s.unit) ?? []), s]);
    let n = 0;
    for (const [unit, group] of byUnit) {
      const file = `${r.id}${n++ ? `-${n}` : ''}.png`;
      const png = writeChart(
        join(outDir, file),
        barChartSvg(
          r.title,
          unit,
          group.map((s) => ({
            label: s.name,
            ours: median(s.ours),
            baseline: median(s.baseline),
            baselineName: s.baselineName,
          })),
        ),
      );
      md.push(
        '',
        png
          ? `![${r.title} (${unit})](${file})`
          : `(chart ${file.replace('.png', '.svg')}: rsvg-convert not available)`,
      );
    }
    md.push('');
  }
  writeFileSync(join(outDir, 'summary.md'), md.join('\n'));
  process.stdout.write(`[bench] wrote ${outDir}/summary.md\n`);
}

void main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
