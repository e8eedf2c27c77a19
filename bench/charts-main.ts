// `npm run bench:charts -- [--relay FILE] [--consume FILE] [--out DIR]`: the pictures of
// docs/benchmarks.md from the JSON lines the benches wrote (defaults: docs/bench/relay.jsonl and
// docs/bench/consume.jsonl, into docs/). A missing input is skipped, with a line saying so.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { consumeChart, jsonLines, relayCharts } from './charts.ts';
import type { ConsumeResult } from './consume.ts';
import type { SystemResult } from './relay-result.ts';

const { values } = parseArgs({
  options: {
    relay: { type: 'string', default: 'docs/bench/relay.jsonl' },
    consume: { type: 'string', default: 'docs/bench/consume.jsonl' },
    out: { type: 'string', default: 'docs' },
  },
});
const wrote: string[] = [];
const write = (name: string, svg: string) => {
  const path = join(values.out, name);
  writeFileSync(path, svg);
  wrote.push(path);
};
const read = (path: string) => {
  if (existsSync(path)) return readFileSync(path, 'utf8');
  console.error(`bench:charts: no ${path}; skipped`);
  return null;
};
const relay = read(values.relay);
if (relay !== null) {
  const results = jsonLines<SystemResult>(relay, (v) => typeof v.system === 'string' && 'drainEvents' in v);
  if (results.length === 0) throw new Error(`${values.relay} holds no relay bench results`);
  const { drain, latency } = relayCharts(results);
  write('bench-relay-drain.svg', drain);
  write('bench-relay-latency.svg', latency);
}
const consume = read(values.consume);
if (consume !== null) {
  const results = jsonLines<ConsumeResult>(consume, (v) => typeof v.system === 'string' && 'effects' in v);
  if (results.length === 0) throw new Error(`${values.consume} holds no consume bench results`);
  write('bench-consume.svg', consumeChart(results));
}
console.error(`bench:charts: wrote ${wrote.join(', ') || 'nothing'}`);
