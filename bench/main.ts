import { parseArgs } from 'node:util';
import { type RelayBenchOptions, relayBench } from './relay.ts';

const usage = `usage: npm run bench -- relay [--events N] [--baseline-events N] [--rate R] [--seconds S] [--only herald|baseline] [--relays N] [--json]

  relay   Herald's relay against a seed-style polling relay, on the same PostgreSQL and Kafka:
          drain throughput of a backlog, commit→broker-ack latency at a steady rate, lost and
          duplicated events. Progress goes to stderr; with --json, one JSON line per system on stdout.

  --events N            backlog Herald drains (default 20000)
  --baseline-events N   backlog the baseline drains (default: the same as --events)
  --rate R              events per second offered in the latency phase (default 1000)
  --seconds S           length of the latency phase (default 10)
  --only SYSTEM         run one system only
  --relays N            also run Herald with N relays in the same run (shards split by leases),
                        and time a failover: SIGKILL one of two relay processes until the events
                        written after it are published
  --json                machine-readable output`;

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n${usage}\n`);
  process.exit(2);
}

function positive(name: string, value: string | undefined, fallback: number, integer = true): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    fail(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(value)}`);
  }
  return n;
}

let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    allowPositionals: true,
    options: {
      events: { type: 'string' },
      'baseline-events': { type: 'string' },
      rate: { type: 'string' },
      seconds: { type: 'string' },
      only: { type: 'string' },
      relays: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}
try {
  parsed = parse();
} catch (error) {
  fail((error as Error).message);
}
const { values, positionals } = parsed;
if (values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
const [command, ...rest] = positionals;
if (command === undefined) fail('a subcommand is required');
if (command !== 'relay') fail(`unknown subcommand ${JSON.stringify(command)}`);
if (rest.length > 0) fail(`unexpected arguments: ${rest.join(' ')}`);
const only = values.only;
if (only !== undefined && only !== 'herald' && only !== 'baseline') fail('--only takes herald or baseline');

const events = positive('events', values.events, 20_000);
const options: RelayBenchOptions = {
  events,
  baselineEvents: positive('baseline-events', values['baseline-events'], events),
  rate: positive('rate', values.rate, 1000, false),
  seconds: positive('seconds', values.seconds, 10, false),
  json: values.json,
  relays: positive('relays', values.relays, 1),
  systems: only === 'herald' || only === 'baseline' ? [only] : ['herald', 'baseline'],
};
const env = {
  databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',').map((b) => b.trim()),
};

try {
  const results = await relayBench(options, env);
  process.exitCode = results.some((r) => r.lost > 0) ? 1 : 0;
} catch (error) {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
}
