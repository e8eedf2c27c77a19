// `npm run chaos -- [--events N] [--relays 3] [--kills K] [--lease-ms MS] [--json] [--no-report]`
// A bounded chaos run: relays SIGKILLed and paused, Kafka and PostgreSQL restarted (a broker and a
// cluster of the run's own, never the shared ones), while writers commit; then every topic is read
// back and checked for loss and per-key order.
// `npm run chaos -- --end-to-end [--events N] [--rate R] [--json] [--report]`: the whole path, through
// a three-node Kafka cluster to three consumer processes (chaos/e2e-main.ts).
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { endToEndCli } from './e2e-main.ts';
import { renderReport } from './report.ts';
import { runChaos } from './scenario.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string' },
    'end-to-end': { type: 'boolean', default: false },
    rate: { type: 'string', default: '1000' },
    'session-ms': { type: 'string', default: '6000' },
    report: { type: 'boolean', default: false },
    relays: { type: 'string', default: '3' },
    kills: { type: 'string', default: '5' },
    'lease-ms': { type: 'string' },
    json: { type: 'boolean', default: false },
    'no-report': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.error(
    'usage: npm run chaos -- [--events 100000] [--relays 3] [--kills 5] [--lease-ms 5000] [--json] [--no-report]\n' +
      '       npm run chaos -- --end-to-end [--events 1000000] [--rate 1000] [--lease-ms 3000] [--session-ms 6000] [--json] [--report]',
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
const command = `npm run -s chaos -- ${process.argv.slice(2).join(' ')}`.trim();
if (values['end-to-end']) {
  process.exit(
    await endToEndCli({
      events: int('events', values.events ?? '1000000', 1),
      rate: int('rate', values.rate, 1),
      leaseMs: int('lease-ms', values['lease-ms'] ?? '3000', 250),
      sessionMs: int('session-ms', values['session-ms'], 1000),
      json: values.json,
      report: values.report,
      command,
    }),
  );
}
const options = {
  events: int('events', values.events ?? '100000', 1),
  relays: int('relays', values.relays, 2),
  kills: int('kills', values.kills, 0),
  leaseMs: int('lease-ms', values['lease-ms'] ?? '5000', 250),
};
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
