// The benchmark's pictures, drawn from the JSON lines `npm run bench -- relay|consume --json`
// writes: throughput per system, and commit→ack latency percentiles at each offered rate. Plain
// SVG (bars and text), no library; a logarithmic scale where the systems differ by orders of
// magnitude.
import type { ConsumeResult } from './consume.ts';
import type { RateResult, SystemResult } from './relay-result.ts';

export interface Bar {
  label: string;
  value: number;
  /** Index into the series colours (0: the first). */
  series?: number;
  /** Extra space above this bar: the start of a group. */
  gap?: boolean;
}

const colours = ['#2563eb', '#60a5fa', '#1e3a8a', '#9ca3af'];
const width = 760;
const labelWidth = 230;
const right = 90;
const barHeight = 16;
const xmlText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const format = (v: number) => (v >= 100 ? Math.round(v).toLocaleString('en-US') : String(Math.round(v * 10) / 10));

/**
 * Horizontal bars, one per row, their length proportional to the value (or to its logarithm with
 * `log`, from 1 up); `legend` names the series.
 */
export function barChart(
  title: string,
  bars: readonly Bar[],
  options: { unit: string; log?: boolean; legend?: readonly string[] } = { unit: '' },
): string {
  const max = Math.max(1, ...bars.map((b) => b.value));
  const span = width - labelWidth - right;
  const length = (v: number) =>
    v <= 0 ? 0 : options.log ? (Math.log10(Math.max(1, v)) / Math.log10(Math.max(10, max))) * span : (v / max) * span;
  let y = 40;
  const rows = bars.map((b) => {
    if (b.gap) y += 10;
    const row = `<text x="${labelWidth - 8}" y="${y + 12}" font-size="11" text-anchor="end">${xmlText(b.label)}</text>
<rect x="${labelWidth}" y="${y}" width="${length(b.value).toFixed(1)}" height="${barHeight}" fill="${colours[(b.series ?? 0) % colours.length]}"/>
<text x="${(labelWidth + length(b.value) + 6).toFixed(1)}" y="${y + 12}" font-size="11">${format(b.value)}</text>`;
    y += barHeight + 4;
    return row;
  });
  const legend = (options.legend ?? [])
    .map(
      (name, i) =>
        `<rect x="${labelWidth + i * 90}" y="${y + 10}" width="10" height="10" fill="${colours[i % colours.length]}"/><text x="${labelWidth + i * 90 + 14}" y="${y + 19}" font-size="11">${xmlText(name)}</text>`,
    )
    .join('\n');
  const height = y + (legend ? 34 : 14);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="20" font-size="13" font-weight="bold">${xmlText(title)}</text>
<text x="${width - 10}" y="20" font-size="11" text-anchor="end">${xmlText(options.unit)}${options.log ? ', log scale' : ''}</text>
${rows.join('\n')}
${legend}
</svg>
`;
}

/** Parses JSON lines, keeping the objects that `is` accepts (a bench's stdout may hold others). */
export function jsonLines<T>(text: string, is: (v: Record<string, unknown>) => boolean): T[] {
  return text
    .split('\n')
    .filter((line) => line.trim().startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter(is) as T[];
}

const relayName = (r: SystemResult) =>
  r.system === 'herald'
    ? `Herald, ${r.source}${r.relays > 1 ? `, ${r.relays} relays` : ''}${r.metrics ? ', metrics on' : ''}`
    : r.system === 'debezium'
      ? "Debezium's outbox router"
      : 'baseline (seed-style poller)';

/** The offered rate, and the rate reached when the writers fell short of it by more than 5 %. */
const rateLabel = (x: RateResult) =>
  `${x.rate.toLocaleString('en-US')}/s${x.achievedRate < x.rate * 0.95 ? ` (${x.achievedRate.toLocaleString('en-US')} reached)` : ''}`;

/** The relay bench: drain per system, and commit→ack p50/p90/p99 per system at each rate. */
export function relayCharts(results: readonly SystemResult[]): { drain: string; latency: string } {
  const transport = results[0]?.transport ?? 'kafka';
  const drain = barChart(
    `relay drain of a backlog to ${transport}`,
    results.map((r) => ({ label: relayName(r), value: r.eventsPerSec })),
    { unit: 'events/s', log: true },
  );
  const percentiles = ['p50Ms', 'p90Ms', 'p99Ms'] as const;
  const latency = barChart(
    `commit → ${transport === 'kafka' ? 'broker append' : 'arrival'} latency at each offered rate`,
    results.flatMap((r) =>
      (r.sweep ?? []).flatMap((x) =>
        percentiles.map((p, i) => ({
          label: i === 0 ? `${relayName(r)} at ${rateLabel(x)}` : '',
          value: x[p],
          series: i,
          gap: i === 0,
        })),
      ),
    ),
    { unit: 'ms', log: true, legend: ['p50', 'p90', 'p99'] },
  );
  return { drain, latency };
}

const consumeName: Record<string, string> = {
  herald: 'Herald consumer.on (group commit)',
  'herald-pipeline': 'Herald consumer.on (group commit, pipeline)',
  'herald-single': 'Herald consumer.on, one tx per event',
  'herald-batch': 'Herald onBatch (100 a call)',
  'herald-offsets': "Herald consumer.on, offsets: 'database'",
  baseline: 'baseline (seed-style consumer)',
  floor: "floor: the handler's statements alone",
  'floor-pipeline': 'floor, the statements pipelined',
  'floor-inbox': 'floor, pipelined, with the inbox rows',
  'floor-kafka': 'floor, with the inbox rows, read from Kafka',
};

/** The consume bench: events handled per second, once in effect, per system. */
export function consumeChart(results: readonly ConsumeResult[]): string {
  return barChart(
    'consumers: events handled once in effect',
    results.map((r) => ({ label: consumeName[r.system] ?? r.system, value: r.eventsPerSec })),
    { unit: 'events/s', log: true },
  );
}
