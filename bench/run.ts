// Runs every benchmark case (or --only a,b), each repeated (--repeat, default 3), and writes
// bench/results/<date>/: results.json (raw figures), summary.md (medians, spreads, ratios to
// the baseline measured in the same run) and a PNG chart per case. A run written to
// bench/results/ also rewrites the README's performance table (bench/lib/readme-table.ts).
// --quick: smaller sizes and shorter loads (BENCH_QUICK=1); --million: the 1,000,000-identity
// multicast too (BENCH_MULTICAST_MILLION=1).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { barChartSvg, scalingChartSvg, writeChart, type ScalingSeries } from './lib/chart';
import { describeMachine } from './lib/machine';
import { median, relativeSpread } from './lib/stats';
import { updateReadme } from './lib/readme-table';
import type { BenchCase, Measurement } from './lib/types';

export interface Summary {
  name: string;
  unit: string;
  better: 'higher' | 'lower';
  baselineName: string;
  size?: number;
  series?: string;
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

/** How many times better (>1) or worse (<1) ours is than the baseline (NaN: a figure with none). */
export function advantage(s: Summary): number {
  const o = median(s.ours);
  const b = median(s.baseline);
  return s.better === 'higher' ? o / b : b / o;
}

/** x with `digits` decimals, or — when it is not a number (0 ÷ 0: both sides idle). */
const finite = (x: number, digits: number, suffix = ''): string =>
  Number.isFinite(x) ? `${x.toFixed(digits)}${suffix}` : '—';

/** Two decimals, or three significant digits below 1 (sub-millisecond latencies). */
const num = (x: number): string => (Math.abs(x) >= 1 || x === 0 ? x.toFixed(2) : x.toPrecision(3));

/** "targets/s" → "target". */
const itemOf = (unit: string): string => unit.replace(/\/s$/, '').replace(/s$/, '');

/**
 * The cost per item (1 ÷ median throughput, in ms) of each series measured at several sizes, ours
 * beside the baseline: a table and a chart (<case>-scaling.png). Empty when the case has none.
 */
function scaling(r: { id: string; title: string; summaries: Summary[] }, outDir: string): string[] {
  const bySeries = new Map<string, Summary[]>();
  for (const s of r.summaries) {
    if (s.series === undefined || s.size === undefined || s.better !== 'higher') continue;
    bySeries.set(s.series, [...(bySeries.get(s.series) ?? []), s]);
  }
  const series: ScalingSeries[] = [...bySeries]
    .filter(([, group]) => group.length > 1)
    .map(([label, group]) => ({
      label,
      baselineName: group[0].baselineName,
      points: group.map((s) => ({ size: s.size!, ours: 1000 / median(s.ours), baseline: 1000 / median(s.baseline) })),
    }));
  if (series.length === 0) return [];
  const unit = `ms per ${itemOf(bySeries.get(series[0].label)![0].unit)}`;
  const md = [
    '',
    `Scaling (cost per item = 1 ÷ median throughput; a flat row means cost per item does not grow with size):`,
    '',
    '| series | size | Prism | baseline | Prism ÷ baseline |',
    '|---|---:|---:|---:|---:|',
  ];
  for (const s of series) {
    for (const p of s.points) {
      md.push(
        `| ${s.label} | ${p.size.toLocaleString('en-US')} | ${p.ours.toPrecision(3)} ${unit} | ${p.baseline.toPrecision(3)} ${unit} (${s.baselineName}) | ${(p.ours / p.baseline).toFixed(2)} |`,
      );
    }
  }
  const file = `${r.id}-scaling.png`;
  const png = writeChart(join(outDir, file), scalingChartSvg(r.title, unit, series));
  md.push(
    '',
    png ? `![${r.title}: scaling](${file})` : `(chart ${file.replace('.png', '.svg')}: rsvg-convert not available)`,
  );
  return md;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      repeat: { type: 'string', default: '3' },
      out: { type: 'string' },
      render: { type: 'string' },
      note: { type: 'string' },
      quick: { type: 'boolean' },
      million: { type: 'boolean' },
      readme: { type: 'boolean' },
    },
  });
  // Read by the cases when they load (below).
  if (values.quick) process.env.BENCH_QUICK = '1';
  if (values.million) process.env.BENCH_MULTICAST_MILLION = '1';
  const resultsRoot = resolve(__dirname, '../../bench/results');
  // --render DIR: rewrite DIR's summary.md and charts from its results.json, without running anything.
  if (values.render) {
    const dir = resolve(values.render);
    const saved = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Saved;
    // JSON keeps a figure without a baseline (NaN) as null.
    for (const r of saved.results) for (const s of r.summaries) s.baseline = s.baseline.map((v) => v ?? NaN);
    writeReport(dir, saved);
    process.stdout.write(`[bench] rewrote ${dir}/summary.md from results.json\n`);
    if (values.readme) process.stdout.write(`[bench] ${updateReadme(dir, saved.results)}\n`);
    return;
  }
  const { ALL_CASES } = await import('./cases');
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error('--repeat: expected a positive integer');
  const only = values.only?.split(',');
  const cases: BenchCase[] = only ? ALL_CASES.filter((c) => only.includes(c.id)) : ALL_CASES;
  if (only && cases.length !== only.length) {
    throw new Error(`--only: unknown case among ${only.join(', ')} (cases: ${ALL_CASES.map((c) => c.id).join(', ')})`);
  }

  const date = new Date().toISOString().slice(0, 10);
  const outDir = resolve(values.out ?? join(resultsRoot, date));
  mkdirSync(outDir, { recursive: true });

  const results: CaseResult[] = [];
  const suiteStart = performance.now();
  const machine = describeMachine();
  // Written after every case, so a case that fails late keeps what the others measured.
  const save = (): void => {
    const totalSeconds = (performance.now() - suiteStart) / 1000;
    const saved: Saved = { date, machine, repeat, totalSeconds, note: values.note, results };
    writeFileSync(join(outDir, 'results.json'), JSON.stringify(saved, null, 2) + '\n');
    writeReport(outDir, saved);
  };
  for (const c of cases) {
    const runs: Measurement[][] = [];
    const caseStart = performance.now();
    let error: string | undefined;
    try {
      for (let i = 0; i < repeat; i++) {
        const t = performance.now();
        process.stdout.write(`[bench] ${c.id} ${i + 1}/${repeat}`);
        runs.push(await c.run(i));
        process.stdout.write(` (${((performance.now() - t) / 1000).toFixed(1)} s)\n`);
      }
    } catch (err) {
      error = describeError(err);
      process.stdout.write(`\n[bench] ${c.id} failed: ${error}\n`);
    } finally {
      await c
        .teardown?.()
        .catch((err: unknown) => process.stderr.write(`[bench] ${c.id} teardown: ${describeError(err)}\n`));
    }
    const seconds = (performance.now() - caseStart) / 1000;
    results.push({ id: c.id, title: c.title, about: c.about, seconds, error, summaries: summarize(runs) });
    save();
  }
  process.stdout.write(`[bench] wrote ${outDir}/summary.md\n`);
  // Only a run kept with the project (under bench/results/) speaks for it in the README.
  if (outDir.startsWith(resultsRoot + '/') || values.readme) {
    process.stdout.write(`[bench] ${updateReadme(outDir, results)}\n`);
  }
  const failed = results.filter((r) => r.error).map((r) => r.id);
  if (failed.length > 0) throw new Error(`cases failed: ${failed.join(', ')} (the others' figures are saved)`);
}

/** The message and its causes ("Workflow Update failed: …: …"). */
function describeError(err: unknown): string {
  const parts: string[] = [];
  for (
    let e = err as { message?: string; cause?: unknown } | undefined;
    e && parts.length < 5;
    e = e.cause as typeof e
  ) {
    parts.push(e.message ?? String(e));
  }
  return parts.join(': ');
}

interface Saved {
  date: string;
  machine: unknown;
  repeat: number;
  totalSeconds: number;
  /** What the person who ran it said about the conditions (--note). */
  note?: string;
  results: CaseResult[];
}

export interface CaseResult {
  id: string;
  title: string;
  about?: string;
  seconds: number;
  /** Why the case stopped early (its summaries hold the repetitions that finished). */
  error?: string;
  summaries: Summary[];
}

/** summary.md and the charts, from the saved figures. */
function writeReport(outDir: string, { date, machine, repeat, totalSeconds, results, note }: Saved): void {
  const md: string[] = [
    `# Benchmark results ${date}`,
    '',
    `Machine: ${JSON.stringify(machine)}`,
    '',
    `Each figure is the median of ${repeat} runs (fewer where the spread column says so: a size too long to repeat); spread = (max − min) / median. Ratio = ours ÷ baseline; "advantage" > 1 means Prism did better than the baseline.`,
    '',
    ...(note ? [`Note: ${note}`, ''] : []),
    `Total time: ${(totalSeconds / 60).toFixed(1)} min (${results.map((r) => `${r.id} ${r.seconds.toFixed(0)} s`).join(', ')}).`,
    '',
  ];
  for (const r of results) {
    md.push(
      `## ${r.title}`,
      '',
      ...(r.about ? [r.about, ''] : []),
      ...(r.error ? [`**Failed** after ${r.seconds.toFixed(0)} s: ${r.error}`, ''] : []),
      '| measurement | Prism | baseline | ratio | advantage | spread (ours / baseline) |',
      '|---|---:|---:|---:|---:|---:|',
    );
    for (const s of r.summaries) {
      const o = median(s.ours);
      const b = median(s.baseline);
      const spread =
        s.ours.length < repeat
          ? `${s.ours.length} run${s.ours.length === 1 ? '' : 's'} only`
          : `${(relativeSpread(s.ours) * 100).toFixed(0)}% / ${(relativeSpread(s.baseline) * 100).toFixed(0)}%`;
      if (Number.isNaN(b)) {
        md.push(`| ${s.name} | ${num(o)} ${s.unit} | — | — | — | ${spread.replace(/ \/ .*$/, '')} |`);
        continue;
      }
      md.push(
        `| ${s.name} | ${num(o)} ${s.unit} | ${num(b)} ${s.unit} (${s.baselineName}) | ${finite(o / b, 3)} | ${finite(advantage(s), 2, '×')} | ${spread} |`,
      );
    }
    const byUnit = new Map<string, Summary[]>();
    for (const s of r.summaries.filter((x) => !Number.isNaN(median(x.baseline))))
      byUnit.set(s.unit, [...(byUnit.get(s.unit) ?? []), s]);
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
    md.push(...scaling(r, outDir), '');
  }
  writeFileSync(join(outDir, 'summary.md'), md.join('\n'));
}

void main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${describeError(err)}\n`);
    process.exit(1);
  },
);
