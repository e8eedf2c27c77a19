import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { barChart, consumeChart, jsonLines, relayCharts } from '../../bench/charts.ts';
import type { SystemResult } from '../../bench/relay-result.ts';

// The benchmark's pictures (bench/charts.ts), from JSON lines shaped as the benches write them.
const widths = (svg: string) =>
  [...svg.matchAll(/<rect x="230" y="\d+" width="([\d.]+)" height="16"/g)].map((m) => Number(m[1]));

const relayLine = (system: string, source: string, eventsPerSec: number, p99: number[]) =>
  ({
    system,
    source,
    relays: 1,
    metrics: false,
    transport: 'kafka',
    drainEvents: 20_000,
    eventsPerSec,
    sweep: [1000, 5000].map((rate, i) => ({
      rate,
      achievedRate: i === 0 ? 990 : 3849,
      p50Ms: 2,
      p90Ms: 5,
      p99Ms: p99[i] as number,
    })),
  }) as unknown as SystemResult;

describe('the benchmark charts', () => {
  it('draws bars in proportion, or to the logarithm with log', () => {
    const linear = widths(
      barChart(
        't',
        [
          { label: 'a', value: 100 },
          { label: 'b', value: 50 },
        ],
        { unit: 'x' },
      ),
    );
    assert.equal(linear[0], 440);
    assert.equal(linear[1], 220);
    const log = widths(
      barChart(
        't',
        [
          { label: 'a', value: 10_000 },
          { label: 'b', value: 100 },
        ],
        { unit: 'x', log: true },
      ),
    );
    assert.equal(log[1], 220, 'two decades of four: half the length');
  });

  it('escapes labels, so a system name cannot break the SVG', () => {
    const svg = barChart('<t> & co', [{ label: '<script>', value: 1 }], { unit: '' });
    assert.ok(!svg.includes('<script>') && svg.includes('&lt;script&gt;') && svg.includes('&lt;t&gt; &amp; co'));
  });

  it('draws the relay drain per system and three percentiles per system and rate', () => {
    const { drain, latency } = relayCharts([
      relayLine('herald', 'polling', 27_739, [6, 9]),
      relayLine('baseline', 'polling', 931, [2170, 9000]),
    ]);
    assert.match(drain, /Herald, polling/);
    assert.match(drain, /27,739/);
    assert.equal(widths(drain).length, 2);
    assert.equal(widths(latency).length, 12, '2 systems x 2 rates x p50/p90/p99');
    assert.match(latency, /Herald, polling at 1,000\/s</, 'within 5 % of the offered rate: no note');
    assert.match(latency, /baseline \(seed-style poller\) at 5,000\/s \(3,849 reached\)/);
    assert.match(latency, />9,000</);
  });

  it('reads the JSON lines a bench printed, skipping other lines, and the command writes the files', () => {
    const text = [
      '{"metricsCostUsPerEvent":{"onUs":1}}',
      'not json',
      '{"system":"herald","eventsPerSec":5237,"effects":20000}',
      '{"system":"baseline","eventsPerSec":139,"effects":20000}',
    ].join('\n');
    const results = jsonLines<{ system: string }>(text, (v) => 'effects' in v);
    assert.deepEqual(
      results.map((r) => r.system),
      ['herald', 'baseline'],
    );
    assert.match(consumeChart(results as never), /Herald consumer.on \(group commit\)/);
    const dir = mkdtempSync(join(tmpdir(), 'herald-charts-'));
    writeFileSync(join(dir, 'consume.jsonl'), text);
    const out = execFileSync(
      process.execPath,
      [
        'bench/charts-main.ts',
        '--consume',
        join(dir, 'consume.jsonl'),
        '--relay',
        join(dir, 'missing.jsonl'),
        '--out',
        dir,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    assert.equal(out, '');
    assert.match(readFileSync(join(dir, 'bench-consume.svg'), 'utf8'), /5,237/);
  });
});
