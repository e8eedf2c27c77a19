// The end-to-end run's timeline as an SVG: events per second committed and applied, from the
// samples, with each fault shaded over its span and labelled. No library: lines and text.
import type { FaultMark } from './e2e-faults.ts';
import type { Sample } from './e2e-samples.ts';

const width = 900;
const height = 380;
const left = 60;
const right = 20;
const top = 40;
const bottom = 110; // room for the fault labels

const labels: Record<FaultMark['fault'], string> = {
  'relay-kill': 'relay kill',
  'consumer-kill': 'consumer kill',
  'broker-kill': 'broker kill',
  'relay-stop': 'relay stop',
  'consumer-stop': 'consumer stop',
  'pg-restart': 'pg restart',
  'net-cut': 'net cut',
};

/** Per-second rates between consecutive samples with a known value. */
function rates(samples: Sample[], value: (s: Sample) => number | undefined): [number, number][] {
  const known = samples.flatMap((s) => {
    const v = value(s);
    return v === undefined ? [] : [[s.at, v] as const];
  });
  return known.slice(1).map(([at, v], i) => {
    const [at0, v0] = known[i] as readonly [number, number];
    return [at, (v - v0) / Math.max(0.1, at - at0)];
  });
}

export function timelineSvg(samples: Sample[], faults: FaultMark[], title: string): string {
  const end = Math.max(1, samples[samples.length - 1]?.at ?? 1);
  const written = rates(samples, (s) => s.written);
  const applied = rates(samples, (s) => s.applied);
  const duplicates = rates(samples, (s) => s.duplicates);
  const max = Math.max(1, ...[...written, ...applied, ...duplicates].map(([, v]) => v)) * 1.1;
  const plotBottom = height - bottom;
  const x = (t: number) => left + (t / end) * (width - left - right);
  const y = (v: number) => plotBottom - (v / max) * (plotBottom - top);
  const line = (points: [number, number][], color: string) =>
    `<path d="${points.map(([t, v], i) => `${i === 0 ? 'M' : 'L'}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}" fill="none" stroke="${color}" stroke-width="1.3"/>`;
  const marks = faults
    .map((f, i) => {
      const x0 = x(f.from);
      const w = Math.max(1.5, x(f.to) - x0);
      const ly = plotBottom + 14 + (i % 6) * 14;
      return `<rect x="${x0.toFixed(1)}" y="${top}" width="${w.toFixed(1)}" height="${plotBottom - top}" fill="#fecaca" opacity="0.6"/>
<line x1="${x0.toFixed(1)}" y1="${top}" x2="${x0.toFixed(1)}" y2="${ly - 10}" stroke="#b91c1c" stroke-width="0.8"/>
<text x="${(x0 + 2).toFixed(1)}" y="${ly}" font-size="10" fill="#b91c1c">${labels[f.fault]}</text>`;
    })
    .join('\n');
  const ticks = Array.from({ length: 6 }, (_, i) => (end * i) / 5)
    .map(
      (t) =>
        `<text x="${x(t).toFixed(1)}" y="${plotBottom + 100}" font-size="10" text-anchor="middle">${Math.round(t)} s</text>`,
    )
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${left}" y="18" font-size="13">${title}</text>
<text x="${left}" y="32" font-size="11"><tspan fill="#2563eb">— committed per second</tspan>   <tspan fill="#16a34a">— applied per second</tspan>   <tspan fill="#9333ea">— duplicates absorbed per second</tspan>   <tspan fill="#b91c1c">▮ fault</tspan></text>
${marks}
<text x="${left - 6}" y="${y(max / 1.1) + 4}" font-size="10" text-anchor="end">${Math.round(max / 1.1)}</text>
<text x="${left - 6}" y="${y(0) + 4}" font-size="10" text-anchor="end">0</text>
<line x1="${left}" y1="${y(0)}" x2="${width - right}" y2="${y(0)}" stroke="#999"/>
${line(written, '#2563eb')}
${line(applied, '#16a34a')}
${line(duplicates, '#9333ea')}
${ticks}
</svg>
`;
}
