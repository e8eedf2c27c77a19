// The soak's samples as an SVG: four panels over time (memory, open handles, commit→handled p99,
// backlog), the broker outage shaded. No library: lines and text.
import type { SoakResult, SoakSample } from './run.ts';

const width = 760;
const panelHeight = 110;
const left = 70;
const right = 20;

function panel(
  samples: SoakSample[],
  y0: number,
  title: string,
  value: (s: SoakSample) => number | null,
  end: number,
  /** A second, dashed line on the same scale. */
  second?: (s: SoakSample) => number | null,
): string {
  const pointsOf = (f: (s: SoakSample) => number | null) =>
    samples.flatMap((s) => {
      const v = f(s);
      return v === null ? [] : [[s.at, v] as const];
    });
  const solid = pointsOf(value);
  const dashes = second ? pointsOf(second) : [];
  const max = Math.max(1, ...[...solid, ...dashes].map(([, v]) => v)) * 1.1;
  const x = (t: number) => left + (t / Math.max(1, end)) * (width - left - right);
  const y = (v: number) => y0 + panelHeight - 20 - (v / max) * (panelHeight - 40);
  const line = (points: typeof solid, dash = '') =>
    points.length === 0
      ? ''
      : `\n<path d="${points.map(([t, v], i) => `${i === 0 ? 'M' : 'L'}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}" fill="none" stroke="#2563eb" stroke-width="1.5"${dash}/>`;
  return `<text x="${left}" y="${y0 + 14}" font-size="12" font-weight="bold">${title}</text>
<text x="${left - 6}" y="${y(max / 1.1) + 4}" font-size="10" text-anchor="end">${Math.round(max / 1.1)}</text>
<text x="${left - 6}" y="${y(0) + 4}" font-size="10" text-anchor="end">0</text>
<line x1="${left}" y1="${y(0)}" x2="${width - right}" y2="${y(0)}" stroke="#999"/>${line(solid)}${line(dashes, ' stroke-dasharray="4 3"')}`;
}

export function soakSvg(result: SoakResult, title: string): string {
  const { samples } = result;
  const end = samples[samples.length - 1]?.at ?? 1;
  const x = (t: number) => left + (t / Math.max(1, end)) * (width - left - right);
  const height = panelHeight * 4 + 50;
  const outage = result.outage
    ? `<rect x="${x(result.outage.from)}" y="30" width="${x(result.outage.to) - x(result.outage.from)}" height="${panelHeight * 4}" fill="#fee2e2"/>
<text x="${x(result.outage.from) + 4}" y="44" font-size="10" fill="#b91c1c">broker down</text>`
    : '';
  const panels = [
    panel(
      samples,
      30,
      'process memory (RSS, MB; dashed: its anonymous part)',
      (s) => s.rssMb,
      end,
      (s) => s.rssAnonMb ?? null,
    ),
    panel(samples, 30 + panelHeight, 'open handles', (s) => s.handles, end),
    panel(samples, 30 + panelHeight * 2, 'commit → handled p99 (ms)', (s) => s.p99Ms, end),
    panel(samples, 30 + panelHeight * 3, 'backlog (committed, not yet handled)', (s) => s.backlog, end),
  ].join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${left}" y="18" font-size="13">${title}</text>
${outage}
${panels}
<text x="${width - right}" y="${height - 8}" font-size="10" text-anchor="end">${Math.round(end / 60)} min</text>
</svg>
`;
}
