// The transports the relay benchmark runs on: one factory per broker that makes Herald's Transport
// for a relay (Herald's or the baseline's), prepares a destination with `partitions` ordered
// streams, and observes what arrives there.
import pg from 'pg';
import type { TransportName } from '../src/config/settings.ts';
import { migrate } from '../src/store/migrate.ts';
import { kafka } from '../src/transports/kafka/index.ts';
import { defaultStreamFor } from '../src/transports/nats/names.ts';
import { postgres } from '../src/transports/postgres/index.ts';
import { rabbitmq } from '../src/transports/rabbitmq/index.ts';
import { dlxSuffix, queueName } from '../src/transports/rabbitmq/topology.ts';
import type { OutgoingMessage, Transport } from '../src/transports/transport.ts';
import { progress } from './stats.ts';
import { createTopic, deleteTopics, type ReadBack, readTopic, uniqueName } from './topic.ts';
import { settle, waitFor } from './wait.ts';

export { type TransportName, transportNames } from '../src/config/settings.ts';

/** Where each broker is. */
export interface BenchEnv {
  databaseUrl: string;
  brokers: string[];
  rabbitmqUrl: string;
  natsServers: string;
  sqsEndpoint: string;
  /** Kafka's compression for Herald's relay (`--compression`); default none. */
  kafkaCompression?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
}

/** What arrived at a destination, by event id, with the time of each copy. */
export interface Observer {
  /**
   * Every copy of every event at the destination. Kafka: the topic is read back now, with the
   * broker's append times. Others: waits until every id of `expected` has been delivered to the
   * observing subscription (or nothing arrived for 30 s), then for 1 s of quiet, and returns when
   * each copy was received.
   */
  readBack(expected: ReadonlySet<string>): Promise<ReadBack>;
  close(): Promise<void>;
}

export interface BenchTransport {
  readonly name: TransportName;
  /** Ordered streams of a destination: Kafka, NATS and PostgreSQL partitions, RabbitMQ queues of the group; SQS: 1 queue. */
  readonly partitions: number;
  /** The consumer group that observes (RabbitMQ and SQS publish to its queues). */
  readonly group: string;
  /** A Transport as a relay makes it: each relay gets its own. */
  create(clientId: string): Transport;
  /** Makes a fresh destination (Kafka topic, NATS stream, ...) and returns its name. */
  prepare(prefix: string): Promise<string>;
  /** Starts observing `destination`; non-Kafka transports subscribe now, before any relay starts. */
  observe(destination: string): Promise<Observer>;
  /** Deletes what was made for `destination`. */
  remove(destination: string): Promise<void>;
  /** Deletes what was made for the transport itself (PostgreSQL: the broker schema). */
  close(): Promise<void>;
}

export interface TransportSetup {
  /** Consumer group of the observer; unique per run. */
  group: string;
  partitions: number;
}

/**
 * The first time each event id was seen, as the relay's thread records it: one push of the ids per
 * publish call, and the map from id to time made only when read (after the phase measured), so
 * the bookkeeping of 100,000 ids does not run on the thread being measured.
 */
export function firstTimes() {
  const calls: { ids: string[]; at: number }[] = [];
  const first = new Map<string, number>();
  let resolved = 0;
  return {
    record(messages: readonly OutgoingMessage[], at: number): void {
      calls.push({ ids: messages.map((m) => m.id), at });
    },
    get map(): ReadonlyMap<string, number> {
      for (; resolved < calls.length; resolved++) {
        const { ids, at } = calls[resolved] as { ids: string[]; at: number };
        for (const id of ids) if (!first.has(id)) first.set(id, at);
      }
      return first;
    },
  };
}
export type FirstTimes = ReturnType<typeof firstTimes>;

/**
 * Wraps `inner` so that `acked` gets, for each event id, the time its first `publish()` resolved:
 * when the relay learned that the broker has it; and `handed`, the time of that first call: when
 * the relay, having read the event, handed it to the transport.
 */
export function recordAcks(inner: Transport, acked: FirstTimes, handed?: FirstTimes): Transport {
  return {
    name: inner.name,
    describe: () => inner.describe(),
    connect: () => inner.connect(),
    close: () => inner.close(),
    async publish(messages: readonly OutgoingMessage[]) {
      handed?.record(messages, Date.now());
      await inner.publish(messages);
      acked.record(messages, Date.now());
    },
    subscribe: (options) => inner.subscribe(options),
  };
}

/** The event id of a delivery: the `ce_id` header (binary mode), else the `id` of a JSON envelope (SQS). */
function eventId(headers: Record<string, string>, value: Buffer): string | undefined {
  const id = headers.ce_id;
  if (id !== undefined) return id;
  try {
    const envelope = JSON.parse(value.toString('utf8')) as { id?: unknown };
    return typeof envelope.id === 'string' ? envelope.id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Observes a destination through `transport.subscribe`: each delivery's arrival time is
 * Date.now() when the iterator hands it over; every delivery is acknowledged (in order, not
 * awaited one by one). A delivery seen again at the same partition and offset is a redelivery by
 * the transport, not a copy.
 */
async function subscribeObserver(transport: Transport, destination: string, group: string): Promise<Observer> {
  if (!transport.subscribe) throw new Error(`${transport.name}: the transport cannot subscribe`);
  const subscription = await transport.subscribe({ group, topics: [destination], from: 'earliest' });
  const back: ReadBack = { copies: new Map(), messages: 0, unidentified: 0 };
  const seen = new Set<string>();
  let redelivered = 0;
  let ackFailures = 0;
  let ackError: unknown;
  /** Expected ids not delivered yet, once readBack() has been called. */
  const missing: { ids: Set<string> | null } = { ids: null };
  let failure: unknown;
  const reading = (async () => {
    for await (const d of subscription) {
      const at = Date.now();
      d.ack().catch((error: unknown) => {
        ackFailures++;
        ackError ??= error;
      });
      const where = `${d.partition}:${d.offset}`;
      if (seen.has(where)) {
        redelivered++;
        continue;
      }
      seen.add(where);
      back.messages++;
      const id = eventId(d.headers, d.value);
      if (id === undefined) {
        back.unidentified++;
        continue;
      }
      const list = back.copies.get(id);
      if (list) list.push({ at, where });
      else back.copies.set(id, [{ at, where }]);
      missing.ids?.delete(id);
    }
  })().catch((error: unknown) => {
    failure = error;
    progress(`${transport.name} observer: ${(error as Error).message}`);
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await subscription.close().catch(() => {});
    await reading;
    await transport.close().catch(() => {});
    if (redelivered > 0 || ackFailures > 0) {
      const first = ackError === undefined ? '' : `, the first: ${(ackError as Error).message}`;
      progress(`${transport.name} observer: ${redelivered} redeliveries, ${ackFailures} failed acks${first}`);
    }
  };
  return {
    async readBack(expected) {
      const waiting = new Set([...expected].filter((id) => !back.copies.has(id)));
      missing.ids = waiting;
      await waitFor(`${transport.name} arrivals`, () => expected.size - waiting.size, expected.size);
      await settle(() => back.messages);
      await close();
      if (failure !== undefined && waiting.size > 0) throw failure;
      return back;
    },
    close,
  };
}

async function kafkaTransport(env: BenchEnv, setup: TransportSetup): Promise<BenchTransport> {
  return {
    name: 'kafka',
    partitions: setup.partitions,
    group: setup.group,
    create: (clientId) => kafka({ brokers: env.brokers, clientId, compression: env.kafkaCompression ?? 'none' }),
    prepare: (prefix) => createTopic(env.brokers, prefix, setup.partitions),
    // The topic's LogAppendTime timestamps are read back at the end, as before this file existed.
    observe: async (destination) => ({
      readBack: () => readTopic(env.brokers, destination),
      close: async () => {},
    }),
    remove: (destination) => deleteTopics(env.brokers, [destination]),
    close: async () => {},
  };
}

async function rabbitmqTransport(env: BenchEnv, setup: TransportSetup): Promise<BenchTransport> {
  const { group, partitions } = setup;
  // The observer's group is declared by every publisher: with `mandatory` publishing a message
  // with no group queue bound fails (docs/rabbitmq.md).
  const make = (connectionName: string) =>
    rabbitmq({ url: env.rabbitmqUrl, partitions, groups: [group], connectionName });
  return {
    name: 'rabbitmq',
    partitions,
    group,
    create: (clientId) => make(clientId),
    prepare: async (prefix) => uniqueName(prefix),
    observe: (destination) => subscribeObserver(make('herald-bench-observer'), destination, group),
    async remove(destination) {
      const amqp = (await import('amqplib')).default;
      const connection = await amqp.connect(env.rabbitmqUrl);
      try {
        const channel = await connection.createChannel();
        for (let p = 0; p < partitions; p++) await channel.deleteQueue(queueName(destination, group, p));
        await channel.deleteQueue(`${destination}${dlxSuffix}`);
        await channel.deleteExchange(`${destination}${dlxSuffix}`);
        await channel.deleteExchange(destination);
        await channel.close();
      } finally {
        await connection.close();
      }
    },
    close: async () => {},
  };
}

async function natsTransport(env: BenchEnv, setup: TransportSetup): Promise<BenchTransport> {
  const { nats } = await import('../src/transports/nats/index.ts');
  const { partitions, group } = setup;
  const make = (name: string) => nats({ servers: env.natsServers, partitions, name });
  return {
    name: 'nats',
    partitions,
    group,
    create: (clientId) => make(clientId),
    // The stream (file storage, one subject per partition) is created by the observer's subscription.
    prepare: async (prefix) => uniqueName(prefix),
    observe: (destination) => subscribeObserver(make('herald-bench-observer'), destination, group),
    async remove(destination) {
      const { connect } = await import('@nats-io/transport-node');
      const { jetstreamManager } = await import('@nats-io/jetstream');
      const nc = await connect({ servers: env.natsServers.split(','), timeout: 5000 });
      try {
        const jsm = await jetstreamManager(nc);
        await jsm.streams.delete(defaultStreamFor(destination));
      } finally {
        await nc.close();
      }
    },
    close: async () => {},
  };
}

/** ElasticMQ takes any credentials and region; the SDK needs some. */
const sqsCredentials = { accessKeyId: 'herald', secretAccessKey: 'herald' };
const sqsRegion = 'elasticmq';

async function sqsTransport(env: BenchEnv, setup: TransportSetup): Promise<BenchTransport> {
  const { sqs } = await import('../src/transports/sqs/index.ts');
  const { defaultQueueName } = await import('../src/transports/sqs/names.ts');
  const { group } = setup;
  const make = () =>
    sqs({
      endpoint: env.sqsEndpoint,
      region: sqsRegion,
      credentials: sqsCredentials,
      groups: [group],
      // Long polls of 1 s: a closed subscription's last poll ends soon after.
      waitTimeSeconds: 1,
    });
  return {
    name: 'sqs',
    // One FIFO queue for the group; each key (MessageGroupId) is an ordered stream within it.
    partitions: 1,
    group,
    create: () => make(),
    // The FIFO queue is created by the observer's subscription (autoCreateQueues).
    prepare: async (prefix) => uniqueName(prefix),
    observe: (destination) => subscribeObserver(make(), destination, group),
    async remove(destination) {
      const { SQSClient, GetQueueUrlCommand, DeleteQueueCommand } = await import('@aws-sdk/client-sqs');
      const client = new SQSClient({ endpoint: env.sqsEndpoint, region: sqsRegion, credentials: sqsCredentials });
      try {
        const { QueueUrl } = await client.send(
          new GetQueueUrlCommand({ QueueName: defaultQueueName(destination, group) }),
        );
        if (QueueUrl) await client.send(new DeleteQueueCommand({ QueueUrl }));
      } finally {
        client.destroy();
      }
    },
    close: async () => {},
  };
}

async function postgresTransport(env: BenchEnv, setup: TransportSetup): Promise<BenchTransport> {
  const { partitions, group } = setup;
  // PostgreSQL as the broker: its tables in a herald schema of their own, on the outbox's server.
  const schema = uniqueName('herald_bench_broker');
  const admin = new pg.Pool({ connectionString: env.databaseUrl, max: 1 });
  admin.on('error', () => {});
  await migrate(admin, { schema });
  const make = () => postgres({ db: env.databaseUrl, schema, partitions });
  return {
    name: 'postgres',
    partitions,
    group,
    create: () => make(),
    // A topic is made with `partitions` partitions on its first use (the observer's subscription).
    prepare: async (prefix) => uniqueName(prefix),
    observe: (destination) => subscribeObserver(make(), destination, group),
    remove: async () => {},
    async close() {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await admin.end();
    },
  };
}

/** The factory of one transport for one system's run. */
export function makeTransport(name: TransportName, env: BenchEnv, setup: TransportSetup): Promise<BenchTransport> {
  switch (name) {
    case 'kafka':
      return kafkaTransport(env, setup);
    case 'rabbitmq':
      return rabbitmqTransport(env, setup);
    case 'nats':
      return natsTransport(env, setup);
    case 'sqs':
      return sqsTransport(env, setup);
    case 'postgres':
      return postgresTransport(env, setup);
  }
}
