// `npm run soak -- [--minutes 60] [--rate 1000] [--writers 8] [--sample-seconds 60] [--outage-minutes 0]
// [--outage-at M] [--warmup-samples 2] [--json] [--report]`: writers, a relay and a consumer in one
// process at a steady rate, sampled; passes when memory and handles hold and latency does not
// drift, with nothing lost or applied twice. --report writes docs/soak.svg and docs/soak.json
// (docs/soak-outage.* for a run with a broker outage).
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { soakSvg } from './plot.ts';
import { runSoak } from './run.ts';
import { judge } from './verdict.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '60' },
    rate: { type: 'string', default: '1000' },
    writers: { type: 'string', default: '8' },
    'sample-seconds': { type: 'string', default: '60' },
    'outage-minutes': { type: 'string', default: '0' },
    'outage-at': { type: 'string' },
    'warmup-samples': { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
    report: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.error(
    'usage: npm run soak -- [--minutes 60] [--rate 1000] [--writers 8] [--sample-seconds 60] [--outage-minutes 0] [--outage-at M] [--warmup-samples 2] [--json] [--report]',
  );
  process.exit(0);
}
const number = (name: string, v: string, min: number) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) {
    console.error(`--${name} must be a number >= ${min}, got ${v}`);
    process.exit(2);
  }
  return n;
};
const minutes = number('minutes', values.minutes, 0.1);
const outageMinutes = number('outage-minutes', values['outage-minutes'], 0);
const log = (line: string) => console.error(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}`);
const result = await runSoak({
  minutes,
  rate: number('rate', values.rate, 1),
  writers: number('writers', values.writers, 1),
  sampleSeconds: number('sample-seconds', values['sample-seconds'], 1),
  outageMinutes,
  outageAtMinute:
    values['outage-at'] === undefined
      ? Math.max(0, (minutes - outageMinutes) / 2)
      : number('outage-at', values['outage-at'], 0),
  log,
});
const verdict = judge(result, number('warmup-samples', values['warmup-samples'], 0));
const summary = {
  minutes,
  rate: Number(values.rate),
  writers: Number(values.writers),
  written: result.written,
  writtenPerSecond: Math.round(result.written / (minutes * 60)),
  handled: result.handled,
  lost: result.lost,
  appliedTwice: result.appliedTwice,
  writeFailures: result.writeFailures,
  rssGrowthPct: verdict.rssGrowthPct,
  rssFallPct: verdict.rssFallPct,
  catchUpRssRisePct: verdict.catchUpRssRisePct,
  handlesSpreadPct: verdict.handlesSpreadPct,
  p99FirstMs: verdict.p99FirstMs,
  p99LastMs: verdict.p99LastMs,
  maxBacklog: Math.max(...result.samples.map((s) => s.backlog)),
  outage: result.outage,
  pass: verdict.pass,
  reasons: verdict.reasons,
};
if (values.report) {
  const title = `soak: ${minutes} min at ${values.rate} events/s${result.outage ? `, broker down ${outageMinutes} min` : ''}; ${verdict.pass ? 'pass' : 'FAIL'}`;
  const name = result.outage ? 'soak-outage' : 'soak';
  writeFileSync(new URL(`../docs/${name}.svg`, import.meta.url), soakSvg(result, title));
  writeFileSync(
    new URL(`../docs/${name}.json`, import.meta.url),
    `${JSON.stringify({ summary, samples: result.samples }, null, 1)}\n`,
  );
  log(`wrote docs/${name}.svg and docs/${name}.json`);
}
if (values.json) console.log(JSON.stringify(summary));
else log(`${verdict.pass ? 'PASS' : 'FAIL'} ${JSON.stringify(summary)}`);
process.exit(verdict.pass ? 0 : 1);
