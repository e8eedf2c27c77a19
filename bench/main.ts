import { parseArgs } from 'node:util';
import pg from 'pg';
import { privatePostgres } from '../infra/postgres.mjs';
import {
  type ConsumeBenchOptions,
  type ConsumeSystem,
  consumeBench,
  consumeSystems,
  defaultConsumeSystems,
  expectedEffects,
} from './consume.ts';
import { consumeLatencyBench, type LatencySystem, latencySystems } from './consume-latency.ts';
import { type DecodeVariant, decodeBench, decodeVariants } from './decode.ts';
import { inFlightBench } from './in-flight.ts';
import { distinctKeys, type PayloadShape, payloadShapes } from './payload.ts';
import { type RelayBenchOptions, relayBench } from './relay.ts';
import type { BenchSource, SystemName } from './system.ts';
import { type BenchEnv, type TransportName, transportNames } from './transports.ts';
import { usage } from './usage.ts';
import { defaultVariants, writeBench } from './write.ts';
import { anatomyNames } from './write-anatomy.ts';
import { type ClientBenchName, clientBenchNames, writeClientsBench } from './write-clients.ts';

function payloadShape(value: string | undefined): PayloadShape {
  if (value === undefined) return 'flat';
  if ((payloadShapes as readonly string[]).includes(value)) return value as PayloadShape;
  fail(`--payload takes ${payloadShapes.join(' or ')}, got ${JSON.stringify(value)}`);
}

function sourceList(value: string | undefined): BenchSource[] {
  if (value === undefined || value === 'polling') return ['polling'];
  if (value === 'cdc' || value === 'table-less') return [value];
  if (value === 'all') return ['polling', 'cdc'];
  fail(`--source takes polling, cdc, table-less or all, got ${JSON.stringify(value)}`);
}

/**
 * A database with wal_level=logical for the CDC source: the given one if it has it, else a
 * private cluster (infra/postgres.mjs, fsync on like a real server) used by every system of the
 * run, so the sources and the baseline are compared on one server.
 */
async function logicalDatabase(url: string): Promise<{ url: string; close(): Promise<void> }> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  const level = (await db.query<{ wal_level: string }>('SHOW wal_level')).rows[0]?.wal_level;
  await db.end();
  if (level === 'logical') return { url, close: async () => {} };
  process.stderr.write(
    `bench: ${url.replace(/:[^:@/]*@/, ':***@')} has wal_level=${level}; every system of this run uses a private cluster with wal_level=logical\n`,
  );
  const cluster = await privatePostgres({
    settings: {
      wal_level: 'logical',
      fsync: 'on',
      shared_buffers: "'128MB'",
      max_wal_senders: 10,
      max_replication_slots: 10,
    },
  });
  return { url: cluster.url, close: () => cluster.destroy() };
}

/**
 * Runs a bench: the exit status is 1 when it throws (its stack on stderr) or resolves true (it
 * measured a failure: events lost, effects that differ), 0 otherwise; `cleanup` runs after.
 */
async function runBench(work: () => Promise<unknown>, cleanup?: () => Promise<void> | undefined) {
  try {
    process.exitCode = (await work()) === true ? 1 : 0;
  } catch (error) {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  } finally {
    await cleanup?.();
  }
}

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

/**
 * Backlog per transport when --events is not given. The baseline sends one message at a time, so
 * on brokers where one acknowledged send takes several milliseconds its drain takes minutes: the
 * smaller backlogs keep `--transport all` near ten minutes. Figures are computed the same way.
 */
const defaultEvents: Record<TransportName, number> = {
  kafka: 20_000,
  rabbitmq: 10_000,
  nats: 10_000,
  sqs: 5_000,
  postgres: 10_000,
};

let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    allowPositionals: true,
    options: {
      events: { type: 'string' },
      transport: { type: 'string' },
      'baseline-events': { type: 'string' },
      rate: { type: 'string' },
      seconds: { type: 'string' },
      'handler-ms': { type: 'string' },
      'events-per-tx': { type: 'string' },
      payload: { type: 'string' },
      only: { type: 'string' },
      relays: { type: 'string' },
      duplicates: { type: 'string' },
      concurrency: { type: 'string' },
      partitions: { type: 'string' },
      keys: { type: 'string' },
      writers: { type: 'string' },
      'payload-bytes': { type: 'string' },
      rounds: { type: 'string' },
      variants: { type: 'string' },
      clients: { type: 'string' },
      anatomy: { type: 'boolean', default: false },
      source: { type: 'string' },
      systems: { type: 'string' },
      json: { type: 'boolean', default: false },
      metrics: { type: 'boolean', default: false },
      compression: { type: 'string' },
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
if (
  command !== 'relay' &&
  command !== 'consume' &&
  command !== 'write' &&
  command !== 'decode' &&
  command !== 'in-flight'
)
  fail(`unknown subcommand ${JSON.stringify(command)}`);
if (rest.length > 0) fail(`unexpected arguments: ${rest.join(' ')}`);
const flags: Record<string, readonly string[]> = {
  relay: [
    'transport',
    'events',
    'baseline-events',
    'rate',
    'seconds',
    'events-per-tx',
    'payload',
    'only',
    'systems',
    'relays',
    'metrics',
    'source',
    'compression',
    'json',
    'help',
  ],
  consume: [
    'events',
    'duplicates',
    'concurrency',
    'partitions',
    'keys',
    'only',
    'rate',
    'seconds',
    'handler-ms',
    'json',
    'help',
  ],
  write: ['writers', 'payload-bytes', 'seconds', 'rounds', 'variants', 'anatomy', 'clients', 'json', 'help'],
  decode: ['events', 'rounds', 'variants', 'json', 'help'],
  'in-flight': ['json', 'help'],
};
for (const [name, value] of Object.entries(values)) {
  if (value !== undefined && value !== false && !flags[command]?.includes(name))
    fail(`${command} does not take --${name}`);
}
const env: BenchEnv = {
  databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',').map((b) => b.trim()),
  rabbitmqUrl: process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
  natsServers: process.env.NATS_URL ?? '127.0.0.1:4222',
  sqsEndpoint: process.env.SQS_ENDPOINT ?? 'http://127.0.0.1:9324',
};
const only = values.only;

if (command === 'relay') {
  const relaySystems: SystemName[] = ['herald', 'baseline', 'debezium'];
  if (only !== undefined && !relaySystems.includes(only as SystemName))
    fail('--only takes herald, baseline or debezium');
  const systems = (values.systems?.split(',').map((s) => s.trim()) ??
    (only ? [only] : ['herald', 'baseline'])) as SystemName[];
  const unknownSystems = systems.filter((s) => !relaySystems.includes(s));
  if (unknownSystems.length > 0)
    fail(`--systems takes some of ${relaySystems.join(', ')}; unknown: ${unknownSystems.join(', ')}`);
  if (systems.includes('debezium') && (values.transport ?? 'kafka') !== 'kafka')
    fail('debezium runs on --transport kafka only');
  const transport = values.transport ?? 'kafka';
  if (transport !== 'all' && !transportNames.includes(transport as TransportName)) {
    fail(`--transport takes ${transportNames.join(', ')} or all, got ${JSON.stringify(transport)}`);
  }
  const compression = values.compression ?? 'none';
  if (!['none', 'gzip', 'snappy', 'lz4', 'zstd'].includes(compression))
    fail(`--compression takes none, gzip, snappy, lz4 or zstd, got ${JSON.stringify(compression)}`);
  env.kafkaCompression = compression as NonNullable<BenchEnv['kafkaCompression']>;
  const events = values.events === undefined ? undefined : positive('events', values.events, 0);
  const baselineEvents =
    values['baseline-events'] === undefined ? undefined : positive('baseline-events', values['baseline-events'], 0);
  const eventsFor = (t: TransportName) => events ?? defaultEvents[t];
  const options: RelayBenchOptions = {
    transports: transport === 'all' ? transportNames : [transport as TransportName],
    events: eventsFor,
    baselineEvents: (t) => baselineEvents ?? eventsFor(t),
    rates: (values.rate ?? '1000').split(',').map((r) => positive('rate', r.trim(), 1000, false)),
    seconds: positive('seconds', values.seconds, 10, false),
    eventsPerTx: positive('events-per-tx', values['events-per-tx'], 1),
    payload: payloadShape(values.payload),
    json: values.json,
    relays: positive('relays', values.relays, 1),
    metrics: values.metrics,
    systems,
    sources: sourceList(values.source),
  };
  let logical: { url: string; close(): Promise<void> } | undefined;
  await runBench(
    async () => {
      if (options.sources.some((s) => s !== 'polling') || systems.includes('debezium')) {
        logical = await logicalDatabase(env.databaseUrl);
        env.databaseUrl = logical.url;
      }
      const { results, failed } = await relayBench(options, env);
      for (const f of failed) process.stderr.write(`bench: ${f.transport} was not measured: ${f.error}\n`);
      return failed.length > 0 || results.some((r) => r.lost > 0);
    },
    () => logical?.close(),
  );
} else if (command === 'in-flight') {
  await runBench(async () => {
    const result = await inFlightBench(env.brokers);
    process.stdout.write(
      values.json
        ? `${JSON.stringify(result)}\n`
        : `first batch ${result.first}, second ${result.second}; producer id ${result.producerIds.join(' -> ')}; log: ${result.log.join(', ')}; per-key order ${result.orderKept ? 'kept' : 'broken'}\n`,
    );
  });
} else if (command === 'decode') {
  const variants = (values.variants?.split(',').map((v) => v.trim()) ?? [...decodeVariants]) as DecodeVariant[];
  const unknown = variants.filter((v) => !decodeVariants.includes(v));
  if (unknown.length > 0) fail(`--variants takes some of ${decodeVariants.join(', ')}; unknown: ${unknown.join(', ')}`);
  const logical = await logicalDatabase(env.databaseUrl);
  await runBench(
    () =>
      decodeBench(
        {
          events: positive('events', values.events, 10_000),
          rounds: positive('rounds', values.rounds, 3),
          variants,
          json: values.json,
        },
        logical.url,
      ),
    () => logical.close(),
  );
} else if (command === 'write' && values.clients !== undefined) {
  const known = Object.keys(clientBenchNames) as ClientBenchName[];
  const clients =
    values.clients === 'all' ? known : (values.clients.split(',').map((c) => c.trim()) as ClientBenchName[]);
  const unknown = clients.filter((c) => !known.includes(c));
  if (unknown.length > 0) fail(`--clients takes all or some of ${known.join(', ')}; unknown: ${unknown.join(', ')}`);
  await runBench(() =>
    writeClientsBench(
      {
        clients,
        writers: positive('writers', values.writers, 16),
        payloadBytes: positive('payload-bytes', values['payload-bytes'], 1024),
        seconds: positive('seconds', values.seconds, 5, false),
        json: values.json,
      },
      env.databaseUrl,
    ),
  );
} else if (command === 'write') {
  const listed = values.variants?.split(',').map((v) => v.trim()) ?? [
    ...defaultVariants,
    ...(values.anatomy ? anatomyNames : []),
  ];
  // Table-less writes need a replication slot, so wal_level=logical: every variant then runs there.
  const logical = listed.includes('herald-wal') ? await logicalDatabase(env.databaseUrl) : undefined;
  await runBench(
    () =>
      writeBench(
        {
          writers: positive('writers', values.writers, 16),
          payloadBytes: positive('payload-bytes', values['payload-bytes'], 1024),
          seconds: positive('seconds', values.seconds, 5, false),
          rounds: positive('rounds', values.rounds, 3),
          variants: listed.includes('plain') ? listed : ['plain', ...listed],
          json: values.json,
        },
        logical?.url ?? env.databaseUrl,
      ),
    () => logical?.close(),
  );
} else {
  const systems = consumeSystems;
  if (only !== undefined && !systems.includes(only as ConsumeSystem)) {
    fail(`--only takes ${systems.join(', ')}`);
  }
  // What both the drain and the latency phase take.
  const shared = {
    concurrency: positive('concurrency', values.concurrency, 16),
    partitions: positive('partitions', values.partitions, 6),
    keys: positive('keys', values.keys, distinctKeys),
    json: values.json,
  };
  if (values.rate !== undefined) {
    if (only !== undefined && !latencySystems.includes(only as LatencySystem)) {
      fail(`--rate runs ${latencySystems.join(', ')}; --only takes one of them`);
    }
    const options = {
      ...shared,
      rates: values.rate.split(',').map((r) => positive('rate', r.trim(), 1000, false)),
      seconds: positive('seconds', values.seconds, 10, false),
      systems: only === undefined ? (['herald', 'herald-pipeline'] as const) : [only as LatencySystem],
      handlerMs: positive('handler-ms', values['handler-ms'], 0, false),
    };
    await runBench(async () => (await consumeLatencyBench(options, env)).some((r) => r.effects !== r.events));
  } else {
    const duplicates = values.duplicates === undefined ? 0.1 : Number(values.duplicates);
    if (!(Number.isFinite(duplicates) && duplicates >= 0 && duplicates <= 1)) {
      fail(`--duplicates must be a fraction from 0 to 1, got ${JSON.stringify(values.duplicates)}`);
    }
    const options: ConsumeBenchOptions = {
      ...shared,
      events: positive('events', values.events, 20_000),
      duplicates,
      systems: only === undefined ? defaultConsumeSystems : [only as ConsumeSystem],
    };
    await runBench(async () => (await consumeBench(options, env)).some((r) => r.effects !== expectedEffects(r)));
  }
}
