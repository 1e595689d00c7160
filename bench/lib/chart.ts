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
  const width = 1000;
  const plotW = width - left - 160;
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
