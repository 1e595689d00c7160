// The README's performance table: the headline rows of a run's summaries (median figures and
// ratios, as in its summary.md), written between the README's bench markers so that the table
// always matches the latest run kept in bench/results/.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { median } from './stats';

const README = resolve(__dirname, '../../../README.md');
const START = '<!-- bench:start (written by bench/run from the latest results; do not edit) -->';
const END = '<!-- bench:end -->';

interface Row {
  name: string;
  unit: string;
  better: 'higher' | 'lower';
  baselineName: string;
  ours: number[];
  baseline: number[];
}
interface Result {
  id: string;
  error?: string;
  summaries: Row[];
}

/** Which rows of each case stand in the README (the summary has every one). */
const HEADLINES: Record<string, RegExp> = {
  resilience: /vs cockatiel \(breaker/,
  worker: /./,
  'session-store': /p50/,
  'session-replication': /lag p99/,
  saga: /sagas\/s/,
  multicast: /targets\/s|peak/,
  cdc: /events\/s|(lag p99|idle CPU).*vs (raw|debezium)($|,)/,
};

const figure = (v: number, unit: string): string =>
  `${v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toPrecision(3)} ${unit}`;

export function readmeTable(dir: string, results: readonly Result[]): string {
  const link = relative(resolve(README, '..'), join(dir, 'summary.md'));
  const md = [
    `From [${link}](${link}): medians; advantage > 1 means Prism did better than the baseline.`,
    '',
    '| case | measurement | Prism | baseline | advantage |',
    '|---|---|---:|---:|---:|',
  ];
  for (const r of results) {
    if (r.error) md.push(`| \`${r.id}\` | failed: ${r.error.replace(/\|/g, '/').slice(0, 120)} | | | |`);
    for (const s of r.summaries) {
      const o = median(s.ours);
      const b = median(s.baseline.map((v) => v ?? NaN));
      if (!Number.isFinite(b) || !(HEADLINES[r.id] ?? /./).test(s.name)) continue;
      const advantage = s.better === 'higher' ? o / b : b / o;
      md.push(
        `| \`${r.id}\` | ${s.name} | ${figure(o, s.unit)} | ${figure(b, s.unit)} (${s.baselineName}) | ${Number.isFinite(advantage) ? `${advantage < 0.1 ? advantage.toPrecision(2) : advantage.toFixed(2)}×` : '—'} |`,
      );
    }
  }
  return md.join('\n');
}

/** Rewrites the README's table from a run; says what it did. */
export function updateReadme(dir: string, results: readonly Result[]): string {
  const text = readFileSync(README, 'utf8');
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start < 0 || end < start) return `README.md has no bench markers: table not written`;
  writeFileSync(
    README,
    text.slice(0, start + START.length) + '\n' + readmeTable(dir, results) + '\n' + text.slice(end),
  );
  return `README.md performance table rewritten from ${dir}`;
}
