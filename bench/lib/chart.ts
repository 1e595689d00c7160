// Bar charts as SVG (ours beside the baseline, per measurement), turned into PNG with
// rsvg-convert (Debian's librsvg2-bin, installed by bench/run).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

export interface Bar {
  label: string;
  ours: number;
  baseline: number;
  baselineName: string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 1 ? n.toFixed(2) : n.toPrecision(2));

export function barChartSvg(title: string, unit: string, bars: readonly Bar[]): string {
  const rowH = 46;
  const left = 380;
  const plotW = 460;
  // Room right of the bars for the longest value label (about 7 px a character at 11 px).
  const labelW = Math.max(...bars.map((b) => `${fmt(b.baseline)} ${b.baselineName}`.length), 10) * 7 + 20;
  const width = Math.max(1000, left + plotW + labelW);
  const height = 70 + bars.length * rowH + 40;
  const max = Math.max(...bars.flatMap((b) => [b.ours, b.baseline]), 1e-9);
  const rows = bars
    .map((b, i) => {
      const y = 60 + i * rowH;
      const wo = (b.ours / max) * plotW;
      const wb = (b.baseline / max) * plotW;
      return [
        `<text x="${left - 10}" y="${y + 22}" text-anchor="end" font-size="13">${esc(b.label)}</text>`,
        `<rect x="${left}" y="${y + 4}" width="${wo}" height="16" fill="#2b6cb0"/>`,
        `<text x="${left + wo + 4}" y="${y + 17}" font-size="11">${fmt(b.ours)}</text>`,
        `<rect x="${left}" y="${y + 22}" width="${wb}" height="16" fill="#a0aec0"/>`,
        `<text x="${left + wb + 4}" y="${y + 35}" font-size="11">${fmt(b.baseline)} ${esc(b.baselineName)}</text>`,
      ].join('');
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="20" y="28" font-size="17" font-weight="bold">${esc(title)} (${esc(unit)})</text>
<rect x="${left}" y="${height - 28}" width="12" height="12" fill="#2b6cb0"/><text x="${left + 18}" y="${height - 18}" font-size="12">Prism</text>
<rect x="${left + 90}" y="${height - 28}" width="12" height="12" fill="#a0aec0"/><text x="${left + 108}" y="${height - 18}" font-size="12">baseline (named beside its bar)</text>
${rows}
</svg>`;
}

export interface ScalingSeries {
  label: string;
  baselineName: string;
  /** Cost per item (ours and baseline) at each size. */
  points: { size: number; ours: number; baseline: number }[];
}

const COLORS = ['#2b6cb0', '#c05621', '#2f855a', '#6b46c1'];

/**
 * Cost per item against size, one solid line (Prism) and one dashed line (its baseline) per
 * series: flat lines mean the cost per item does not grow with size. Sizes are spaced evenly.
 */
export function scalingChartSvg(title: string, unit: string, series: readonly ScalingSeries[]): string {
  const width = 1000;
  const left = 90;
  const right = 40;
  const top = 70;
  const plotH = 340;
  const legendH = 24 * series.length * 2 + 10;
  const height = top + plotH + 60 + legendH;
  const sizes = [...new Set(series.flatMap((s) => s.points.map((p) => p.size)))].sort((a, b) => a - b);
  const max = Math.max(...series.flatMap((s) => s.points.flatMap((p) => [p.ours, p.baseline])), 1e-9) * 1.15;
  const plotW = width - left - right;
  const x = (size: number): number =>
    left + (sizes.length === 1 ? plotW / 2 : 40 + (sizes.indexOf(size) / (sizes.length - 1)) * (plotW - 80));
  const y = (v: number): number => top + plotH - (v / max) * plotH;
  const parts: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = (max / 4) * i;
    parts.push(
      `<line x1="${left}" x2="${width - right}" y1="${y(v)}" y2="${y(v)}" stroke="#e2e8f0"/>`,
      `<text x="${left - 8}" y="${y(v) + 4}" text-anchor="end" font-size="11">${fmt(v)}</text>`,
    );
  }
  for (const size of sizes) {
    parts.push(
      `<text x="${x(size)}" y="${top + plotH + 20}" text-anchor="middle" font-size="12">${size.toLocaleString('en-US')}</text>`,
    );
  }
  parts.push(
    `<line x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#4a5568"/>`,
    `<text x="${left + plotW / 2}" y="${top + plotH + 42}" text-anchor="middle" font-size="12">size (items per run)</text>`,
  );
  const drawn: string[] = [];
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = [...s.points].sort((a, b) => a.size - b.size);
    // Series that share one baseline (same name and figures) draw it once.
    const baselineKey = JSON.stringify([s.baselineName, pts.map((p) => [p.size, p.baseline])]);
    const shared = drawn.indexOf(baselineKey);
    drawn.push(baselineKey);
    for (const [key, dash] of [
      ['ours', ''],
      ['baseline', ' stroke-dasharray="7 5" stroke-opacity="0.7"'],
    ] as const) {
      if (key === 'baseline' && shared >= 0) continue;
      const path = pts.map((p) => `${x(p.size)},${y(p[key])}`).join(' ');
      parts.push(`<polyline points="${path}" fill="none" stroke="${color}" stroke-width="2.5"${dash}/>`);
      for (const p of pts) {
        parts.push(
          `<circle cx="${x(p.size)}" cy="${y(p[key])}" r="4" fill="${key === 'ours' ? color : 'white'}" stroke="${color}" stroke-width="2"/>`,
          `<text x="${x(p.size) + 7}" y="${y(p[key]) + (key === 'ours' ? -7 : 15)}" font-size="11" fill="${color}">${fmt(p[key])}</text>`,
        );
      }
    }
    const ly = top + plotH + 70 + i * 48;
    parts.push(
      `<line x1="${left}" x2="${left + 36}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2.5"/>`,
      `<text x="${left + 44}" y="${ly + 4}" font-size="12">Prism: ${esc(s.label)}</text>`,
      `<line x1="${left}" x2="${left + 36}" y1="${ly + 22}" y2="${ly + 22}" stroke="${shared >= 0 ? COLORS[shared % COLORS.length] : color}" stroke-width="2.5" stroke-dasharray="7 5" stroke-opacity="0.7"/>`,
      `<text x="${left + 44}" y="${ly + 26}" font-size="12">baseline: ${esc(s.baselineName)}${shared >= 0 ? ' (the same line)' : ''}</text>`,
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="20" y="28" font-size="17" font-weight="bold">${esc(title)}</text>
<text x="20" y="48" font-size="13">${esc(unit)} against size: a flat line means the cost per item does not grow with size</text>
${parts.join('\n')}
</svg>`;
}

/** Writes the SVG and, when rsvg-convert is available, the PNG beside it; returns the PNG path or null. */
export function writeChart(path: string, svg: string): string | null {
  const svgPath = path.replace(/\.png$/, '.svg');
  writeFileSync(svgPath, svg);
  try {
    execFileSync('rsvg-convert', ['-o', path, svgPath], { stdio: 'ignore' });
    return path;
  } catch {
    return null;
  }
}
