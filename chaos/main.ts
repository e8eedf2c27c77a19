// `npm run chaos -- [--events N] [--relays 3] [--kills K] [--lease-ms MS] [--json] [--no-report]`
// A bounded chaos run: relays SIGKILLed and paused, Kafka and PostgreSQL restarted (a broker and a
// cluster of the run's own, never the shared ones), while writers commit; then every topic is read
// back and checked for loss and per-key order.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { renderReport } from './report.ts';
import { runChaos } from './scenario.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '100000' },
    relays: { type: 'string', default: '3' },
    kills: { type: 'string', default: '5' },
    'lease-ms': { type: 'string', default: '5000' },
    json: { type: 'boolean', default: false },
    'no-report': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.error(
    'usage: npm run chaos -- [--events 100000] [--relays 3] [--kills 5] [--lease-ms 5000] [--json] [--no-report]',
  );
  process.exit(0);
}
const int = (name: string, v: string, min: number) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer >= ${min}, got ${v}`);
    process.exit(2);
  }
  return n;
};
const options = {
  events: int('events', values.events, 1),
  relays: int('relays', values.relays, 2),
  kills: int('kills', values.kills, 0),
  leaseMs: int('lease-ms', values['lease-ms'], 250),
};
const command = `npm run -s chaos -- ${process.argv.slice(2).join(' ')}`.trim();
const started = new Date();
const result = await runChaos({
  ...options,
  log: (line) => console.error(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}`),
}).catch((error: Error & { unavailable?: boolean }) => {
  // The run restarts a Kafka broker and a PostgreSQL cluster of its own; none could be started here.
  if (!error.unavailable) throw error;
  console.error(`[chaos] cannot run: ${error.message}`);
  process.exit(2);
});
if (!values['no-report']) {
  writeFileSync(new URL('../docs/reliability.md', import.meta.url), renderReport(result, { command, started }));
  console.error('[chaos] wrote docs/reliability.md');
}
const ok = result.lost === 0 && result.orderViolations === 0;
if (values.json) {
  const { failovers, examples, ...summary } = result;
  console.log(JSON.stringify({ ...summary, ok, failovers }));
} else {
  console.error(JSON.stringify(result, null, 2));
}
console.error(ok ? '[chaos] PASS: nothing lost, per-key order kept' : `[chaos] FAIL: ${result.examples.join('; ')}`);
process.exit(ok ? 0 : 1);
