// Reads the resilience series of a prom-client registry (or a worker's /metrics text), so tests
// can check which guarded calls were made, with which labels and outcome.
import type { Registry } from 'prom-client';

export type Labels = Record<string, string>;

function matches(labels: Labels, wanted: Labels): boolean {
  return Object.entries(wanted).every(([k, v]) => labels[k] === v);
}

/** The sum of a counter's (or gauge's) values whose labels include `wanted`. */
export async function metricValue(registry: Registry, name: string, wanted: Labels = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.filter((v) => matches(v.labels as Labels, wanted)).reduce((sum, v) => sum + v.value, 0);
}

/** The same from Prometheus text (what /metrics serves). */
export function scrapedValue(text: string, name: string, wanted: Labels = {}): number {
  return scrapedSeries(text, name, wanted).reduce((sum, v) => sum + v.value, 0);
}

/** Each series of `name` in Prometheus text whose labels include `wanted`. */
export function scrapedSeries(text: string, name: string, wanted: Labels = {}): { labels: Labels; value: number }[] {
  const series: { labels: Labels; value: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Labels = {};
    for (const pair of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    if (matches(labels, wanted)) series.push({ labels, value: Number(m[3]) });
  }
  return series;
}
