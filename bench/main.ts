import { parseArgs } from 'node:util';
import pg from 'pg';
import { privatePostgres } from '../infra/postgres.mjs';
import { type ConsumeBenchOptions, type ConsumeSystem, consumeBench, consumeSystems } from './consume.ts';
import { type DecodeVariant, decodeBench, decodeVariants } from './decode.ts';
import { inFlightBench } from './in-flight.ts';
import { type PayloadShape, payloadShapes } from './payload.ts';
import { type RelayBenchOptions, relayBench } from './relay.ts';
import type { BenchSource, SystemName } from './system.ts';
import { type BenchEnv, type TransportName, transportNames } from './transports.ts';
import { defaultVariants, writeBench } from './write.ts';
import { anatomyNames } from './write-anatomy.ts';
import { type ClientBenchName, clientBenchNames, writeClientsBench } from './write-clients.ts';

const usage = `usage: npm run bench -- relay [--transport kafka|rabbitmq|nats|sqs|postgres|all] [--events N] [--baseline-events N] [--rate R[,R2,...]] [--seconds S] [--events-per-tx N] [--only herald|baseline|debezium] [--systems a,b] [--relays N] [--metrics] [--source polling|cdc|table-less|all] [--compression none|gzip|snappy|lz4|zstd] [--json]
       npm run bench -- consume [--events N] [--duplicates FRACTION] [--concurrency N] [--only herald|herald-pipeline|herald-single|herald-batch|baseline|floor|floor-pipeline|floor-inbox] [--json]
       npm run bench -- write [--writers N] [--payload-bytes B] [--seconds S] [--rounds R] [--anatomy] [--variants a,b] [--json]
       npm run bench -- write --clients all|NAME,NAME [--writers N] [--payload-bytes B] [--seconds S] [--json]
       npm run bench -- decode [--events N] [--rounds R] [--variants herald,table-less,debezium] [--json]
       npm run bench -- in-flight [--json]

  relay   Herald's relay against a seed-style polling relay, on the same PostgreSQL and broker:
          drain throughput of a backlog, commit→arrival latency at a steady rate, lost and
          duplicated events. Progress goes to stderr; with --json, one JSON line per system on stdout.

  --transport NAME      the broker both relays publish to: kafka (default), rabbitmq, nats, sqs,
                        postgres, or all (each in turn, in one run)
  --events N            backlog Herald drains (default per transport: kafka 20000, rabbitmq 10000,
                        nats 10000, sqs 5000, postgres 10000)
  --baseline-events N   backlog the baseline drains (default: the same as --events)
  --rate R[,R2,...]     events per second offered in the latency phase (default 1000); several:
                        the phase at each rate in turn (a sweep, in "sweep" of each JSON line)
  --seconds S           length of the latency phase, at each rate (default 10)
  --events-per-tx N     events each transaction of the latency phase writes (default 1); the rate
                        stays in events a second, for rates beyond the writers' commits a second
  --payload SHAPE       the events' 1 kB payload: flat (default; one string field) or structured
                        (a list of small objects, as an order's lines: costly to parse)
  --only SYSTEM         run one system only
  --systems a,b         the systems to run, in order: herald, baseline (default both), debezium
                        (Debezium 3.6's PostgreSQL connector and outbox event router on Kafka
                        Connect 4.1, standalone, from Maven Central jars; Kafka only, Java 21+,
                        a database with wal_level=logical as for --source cdc)
  --relays N            also run Herald with N relays in the same run (shards split by leases),
                        and time a failover (on Kafka only): SIGKILL one of two relay processes
                        until the events written after it are published
  --metrics             also run Herald with metrics on (Prometheus, scraped every 5 s) in the same
                        run, off, on, on, off, and report the drain with metrics on against off,
                        with the recorder's own CPU time per event (measured without a broker)
  --source S            Herald's relay source: polling (default), cdc (logical replication), table-less
                        (createOutbox({ mode: 'wal' }) read by the CDC source), or all (polling and cdc,
                        in turn). CDC needs wal_level=logical: when the database lacks it,
                        every system of the run uses a private cluster that has it (fsync on)
  --compression C       Kafka compression of Herald's relay: none (default), gzip, snappy, lz4, zstd
                        (run twice, none and one codec, to compare the drain)
  --json                machine-readable output

  consume Herald's consumer (inbox row and handler in one transaction) against a seed-style consumer
          (IsProcessed, handler, MarkProcessed as separate autocommitted statements, an offset
          commit after every message), reading the same topic in one run: events handled per
          second, and effects written. A share of the events is delivered twice.

  --events N            distinct events in the topic (default 20000)
  --duplicates FRACTION share of the events published a second time (default 0.1)
  --concurrency N       Herald's handler transactions at once (default 16)
  --only SYSTEM         run one system only: herald (consumer.on, group commit), herald-pipeline (the
                        same, groupCommit.pipeline on a pipelining pool), herald-single (consumer.on,
                        one transaction per event), herald-batch (onBatch, 100 a call), baseline, floor
                        (the handler's statement per event alone: no broker, no inbox), floor-pipeline
                        (the same, a transaction's statements sent at once), or floor-inbox
                        (floor-pipeline with the inbox rows: the bound of consumer.on with such a
                        handler on this machine)
  --json                machine-readable output

  write   What outbox.add costs the business transaction: writers commit transactions that insert
          one business row, alone (plain) or with one INSERT into a bare table (floor-table), a
          pg_logical_emit_message (floor-emit), or Herald's outbox.add (herald; herald-wal in
          table-less mode). Plain runs before
          and after every round; overheadPct is against their median. herald-wal needs a
          replication slot, so wal_level=logical: with it, every variant runs on a database that
          has it (a private cluster when the given one lacks it).

  --writers N           concurrent writers, one connection each (default 16)
  --payload-bytes B     size of the business row and of the event's payload (default 1024)
  --seconds S           length of each measurement (default 5)
  --rounds R            rounds of every variant; figures are medians (default 3)
  --anatomy             also the log's features one at a time (bench/write-anatomy.ts)
  --variants a,b        these variants only (plain is always measured)
  --json                one JSON line per variant: variant, txPerSec, overheadPct, rounds
  --clients all|a,b     instead: per database client (node-postgres, postgres.js, kysely,
                        drizzle-node-postgres, drizzle-postgres-js, knex, prisma, typeorm, mikro-orm,
                        sequelize), its own
                        transaction with the business row alone and with outbox.add; one JSON line
                        per client: client, plainTxPerSec, withOutboxTxPerSec, overheadPct

  decode  PostgreSQL's logical decoding alone, the floor under the CDC walsender figures: events
          written one per transaction as Herald's log row (herald), as a table-less message
          (table-less) or as Debezium's outbox row (debezium), then read from a fresh slot by one
          backend with pg_logical_slot_get_binary_changes (pgoutput): the server's CPU and time per
          event to decode and encode them, without the walsender's wake-ups, network and replies.
          Needs wal_level=logical (a private cluster when the database lacks it).

  --events N            events per variant and round (default 10000)
  --rounds R            rounds, each variant in turn (default 3)
  --variants a,b        these variants only (default all three)
  --json                one JSON line per variant and round

  in-flight  Why the relay keeps one produce request in flight: two batches for one partition and
          one key sent without waiting for each other, the first refused by the broker (a record
          over the topic's max.message.bytes), then the first's event published again as the relay
          would. Prints the log's order and whether per-key order was kept.

  --json                one JSON line`;

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
      'events-per-tx': { type: 'string' },
      payload: { type: 'string' },
      only: { type: 'string' },
      relays: { type: 'string' },
      duplicates: { type: 'string' },
      concurrency: { type: 'string' },
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
  consume: ['events', 'duplicates', 'concurrency', 'only', 'json', 'help'],
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
  try {
    if (options.sources.some((s) => s !== 'polling') || systems.includes('debezium')) {
      logical = await logicalDatabase(env.databaseUrl);
      env.databaseUrl = logical.url;
    }
    const { results, failed } = await relayBench(options, env);
    for (const f of failed) process.stderr.write(`bench: ${f.transport} was not measured: ${f.error}\n`);
    process.exitCode = failed.length > 0 || results.some((r) => r.lost > 0) ? 1 : 0;
  } catch (error) {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  } finally {
    await logical?.close();
  }
} else if (command === 'in-flight') {
  try {
    const result = await inFlightBench(env.brokers);
    process.stdout.write(
      values.json
        ? `${JSON.stringify(result)}\n`
        : `first batch ${result.first}, second ${result.second}; producer id ${result.producerIds.join(' -> ')}; log: ${result.log.join(', ')}; per-key order ${result.orderKept ? 'kept' : 'broken'}\n`,
    );
  } catch (error) {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  }
} else if (command === 'decode') {
  const variants = (values.variants?.split(',').map((v) => v.trim()) ?? [...decodeVariants]) as DecodeVariant[];
  const unknown = variants.filter((v) => !decodeVariants.includes(v));
  if (unknown.length > 0) fail(`--variants takes some of ${decodeVariants.join(', ')}; unknown: ${unknown.join(', ')}`);
  const logical = await logicalDatabase(env.databaseUrl);
  try {
    await decodeBench(
      {
        events: positive('events', values.events, 10_000),
        rounds: positive('rounds', values.rounds, 3),
        variants,
        json: values.json,
      },
      logical.url,
    );
  } catch (error) {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  } finally {
    await logical.close();
  }
} else if (command === 'write' && values.clients !== undefined) {
  const known = Object.keys(clientBenchNames) as ClientBenchName[];
  const clients =
    values.clients === 'all' ? known : (values.clients.split(',').map((c) => c.trim()) as ClientBenchName[]);
  const unknown = clients.filter((c) => !known.includes(c));
  if (unknown.length > 0) fail(`--clients takes all or some of ${known.join(', ')}; unknown: ${unknown.join(', ')}`);
  try {
    await writeClientsBench(
      {
        clients,
        writers: positive('writers', values.writers, 16),
        payloadBytes: positive('payload-bytes', values['payload-bytes'], 1024),
        seconds: positive('seconds', values.seconds, 5, false),
        json: values.json,
      },
      env.databaseUrl,
    );
  } catch (error) {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  }
} else if (command === 'write') {
  const listed = values.variants?.split(',').map((v) => v.trim()) ?? [
    ...defaultVariants,
    ...(values.anatomy ? anatomyNames : []),
  ];
  // Table-less writes need a replication slot, so wal_level=logical: every variant then runs there.
  const logical = listed.includes('herald-wal') ? await logicalDatabase(env.databaseUrl) : undefined;
  try {
    await writeBench(
      {
        writers: positive('writers', values.writers, 16),
        payloadBytes: positive('payload-bytes', values['payload-bytes'], 1024),
        seconds: positive('seconds', values.seconds, 5, false),
        rounds: positive('rounds', values.rounds, 3),
        variants: listed.includes('plain') ? listed : ['plain', ...listed],
        json: values.json,
      },
      logical?.url ?? env.databaseUrl,
    );
  } catch (error) {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  } finally {
    await logical?.close();
  }
} else {
  const systems = consumeSystems;
  if (only !== undefined && !systems.includes(only as ConsumeSystem)) {
    fail(`--only takes ${systems.join(', ')}`);
  }
  const duplicates = values.duplicates === undefined ? 0.1 : Number(values.duplicates);
  if (!(Number.isFinite(duplicates) && duplicates >= 0 && duplicates <= 1)) {
    fail(`--duplicates must be a fraction from 0 to 1, got ${JSON.stringify(values.duplicates)}`);
  }
  const options: ConsumeBenchOptions = {
    events: positive('events', values.events, 20_000),
    duplicates,
    concurrency: positive('concurrency', values.concurrency, 16),
    json: values.json,
    systems: only === undefined ? systems : [only as ConsumeSystem],
  };
  try {
    const results = await consumeBench(options, env);
    process.exitCode = results.some((r) => r.effects !== r.events) ? 1 : 0;
  } catch (error) {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  }
}
