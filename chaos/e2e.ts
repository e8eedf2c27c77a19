// The end-to-end chaos run (`npm run chaos -- --end-to-end`): writers commit one event per
// transaction at a steady rate; three `herald relay` processes publish to a three-node Kafka
// cluster (replication 3, min.insync.replicas 2, acks=all); three consumer processes of one group
// apply every event through the inbox; meanwhile rounds of faults (chaos/e2e-faults.ts). At the
// end, the consumers' tables are checked against what was committed (chaos/e2e-tables.ts).
import { writeFileSync } from 'node:fs';
import { type PrivateKafkaCluster, privateKafkaCluster } from '../infra/kafka-cluster.mjs';
import { type PrivatePostgres, privatePostgres } from '../infra/postgres.mjs';
import { getStatus } from '../src/index.ts';
import { quoteIdent } from '../src/store/identifiers.ts';
import { freshSchema, type TestSchema } from '../test/support/env.ts';
import { createTopic } from '../test/support/kafka.ts';
import { groupSettled } from './cluster-admin.ts';
import { type Consumers, createConsumers } from './consumers.ts';
import { createFaults, type Fault, type FaultMark, round } from './e2e-faults.ts';
import { type Sample, startSampler } from './e2e-samples.ts';
import { appliedCount, checkApplied, createEffectTables, distinctApplied } from './e2e-tables.ts';
import { createFleet, type Fleet } from './fleet.ts';
import { createNetns, type Netns, netnsUnavailable } from './netns.ts';
import { settled } from './probes.ts';
import { retry } from './scenario.ts';
import { committedAnyway, startWriters } from './writers.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface EndToEndOptions {
  events: number;
  /** Events committed per second, over all writers. */
  rate: number;
  leaseMs: number;
  /** The consumers' Kafka session timeout. */
  sessionMs: number;
  /** Rounds of faults at least (default 1); more faults while the writers are still writing. */
  minRounds?: number;
  partitions?: number;
  log?: (line: string) => void;
}

export interface EndToEndResult {
  events: number;
  /** Events committed (an ambiguous commit found in the log included). */
  committed: number;
  lost: number;
  appliedTwice: number;
  orderViolations: number;
  /** Deliveries the consumers' inboxes absorbed, summed over every consumer process. */
  duplicates: number;
  /** SIGKILLs: relays, consumers and brokers. */
  kills: number;
  maxStallSeconds: number;
  phantoms: number;
  relayKills: number;
  consumerKills: number;
  brokerKills: number;
  relayStops: number;
  consumerStops: number;
  stoppedRelaysFenced: number;
  pgRestarts: number;
  netCut: boolean;
  netCutReason?: string;
  netCuts: number;
  cutRelaysFenced: number;
  writerFailures: number;
  ambiguousCommitted: number;
  consumerProcesses: number;
  relayCrashes: string[];
  consumerCrashes: string[];
  rate: number;
  leaseMs: number;
  sessionMs: number;
  /** Seconds from the last write until every committed event was applied. */
  drainSeconds: number;
  seconds: number;
  faults: FaultMark[];
  samples: Sample[];
  examples: string[];
}

export async function runEndToEnd(options: EndToEndOptions): Promise<EndToEndResult> {
  const { events, rate, leaseMs, sessionMs } = options;
  const partitions = options.partitions ?? 6;
  const log = options.log ?? (() => {});
  const t0 = Date.now();
  let ns: Netns | undefined;
  let cluster: PrivateKafkaCluster | undefined;
  let postgres: PrivatePostgres | undefined;
  let db: TestSchema | undefined;
  let fleet: Fleet | undefined;
  let consumers: Consumers | undefined;
  let writers: ReturnType<typeof startWriters> | undefined;
  let sampler: ReturnType<typeof startSampler> | undefined;
  try {
    let netCutReason = netnsUnavailable() ?? undefined;
    if (!netCutReason) {
      try {
        ns = createNetns();
      } catch (error) {
        netCutReason = `the network namespace could not be made: ${(error as Error).message.split('\n')[0]}`;
      }
    }
    log(
      ns
        ? `network namespace ${ns.name}: ${ns.nsAddress} inside, ${ns.hostAddress} here`
        : `no net cut: ${netCutReason}`,
    );
    // Both at once; whichever started is destroyed in the finally if the other failed.
    const [pgStarted, kafkaStarted] = await Promise.allSettled([
      privatePostgres(
        ns
          ? {
              settings: { listen_addresses: `'127.0.0.1,${ns.hostAddress}'` },
              hba: [`host all all ${ns.subnet} trust`],
            }
          : {},
      ),
      privateKafkaCluster({ nodes: 3, ...(ns ? { extraHost: ns.hostAddress } : {}) }),
    ]);
    if (pgStarted.status === 'fulfilled') postgres = pgStarted.value;
    if (kafkaStarted.status === 'fulfilled') cluster = kafkaStarted.value;
    if (pgStarted.status === 'rejected') throw pgStarted.reason;
    if (kafkaStarted.status === 'rejected') throw kafkaStarted.reason;
    if (!postgres || !cluster) throw new Error('unreachable');
    log(
      `Kafka cluster on ${cluster.bootstrap} (${cluster.startMs} ms), PostgreSQL on ${postgres.url} (${postgres.startMs} ms)`,
    );
    const brokers = cluster.bootstrap.split(',');
    db = await freshSchema(postgres.url);
    const { pool, schema } = db;
    await createEffectTables(pool, schema);
    const topic = await createTopic(partitions, 'herald-chaos-e2e', { 'min.insync.replicas': '2' }, brokers, 3);
    const shardCount = (await pool.query<{ n: number }>(`SELECT shard_count AS n FROM ${quoteIdent(schema)}.settings`))
      .rows[0]?.n as number;
    const relays = 3;
    const group = 'chaos-e2e';
    const netSlot = relays - 1;
    const inside = ns;
    fleet = createFleet(
      schema,
      { HERALD_LEASE_MS: String(leaseMs), DATABASE_URL: postgres.url, KAFKA_BROKERS: cluster.bootstrap },
      (i) =>
        inside && i === netSlot
          ? {
              env: {
                DATABASE_URL: postgres?.url.replace('127.0.0.1', inside.hostAddress) as string,
                KAFKA_BROKERS: cluster?.extraBootstrap as string,
              },
              prefix: inside.prefix,
            }
          : {},
      90_000,
    );
    await fleet.start(relays);
    await settled(pool, schema, fleet, shardCount, 30_000);
    consumers = createConsumers({
      DATABASE_URL: postgres.url,
      KAFKA_BROKERS: cluster.bootstrap,
      HERALD_SCHEMA: schema,
      CHAOS_TOPIC: topic,
      CHAOS_GROUP: group,
      CHAOS_SESSION_MS: String(sessionMs),
    });
    consumers.start(3);
    if (!(await groupSettled(cluster.bootstrap, group, 3, 120_000)))
      log('warning: the consumer group did not settle in 120 s');
    log(`schema ${schema}, topic ${topic} (${partitions} partitions, replication 3), ${events} events at ${rate}/s`);

    const started = Date.now();
    writers = startWriters({ pool, schema, topic, writers: 4, keysPerWriter: 50, perTransaction: 1, events, rate });
    const w = writers;
    const c = consumers;
    sampler = startSampler(
      t0,
      () => w.committed.length,
      () => appliedCount(pool, schema),
      () => c.duplicates(),
    );
    const faults = createFaults({
      fleet,
      consumers,
      cluster,
      postgres,
      netns: ns ? { ns, slot: netSlot } : undefined,
      topic,
      partitions,
      relays,
      consumerCount: 3,
      leaseMs,
      sessionMs,
      t0,
      log,
    });
    let writing = true;
    void writers.done.then(() => {
      writing = false;
    });
    // Every fault of `minRounds` rounds, then more while the writers write (one round at least).
    const turns = new Map<Fault, number>();
    const minFaults = Math.max(1, options.minRounds ?? 1) * round.length;
    for (let i = 0; i < minFaults || writing; i++) {
      const fault = round[i % round.length] as Fault;
      await sleep(2000);
      await settled(pool, schema, fleet, shardCount, 30_000).catch((e: Error) => log(`warning: ${e.message}`));
      const n = turns.get(fault) ?? 0;
      turns.set(fault, n + 1);
      log(`${w.committed.length}/${events} committed`);
      await faults.run(fault, n);
    }
    await writers.done;
    const wroteAt = Date.now();
    log(`faults done, all written after ${((wroteAt - started) / 1000).toFixed(0)} s; waiting for the consumers`);
    const found = await retry('resolving ambiguous commits', () => committedAnyway(pool, schema, w.uncertain));
    const committed = new Set([...w.committed, ...found]);
    const deadline = Date.now() + Math.max(180_000, events * 2);
    while (
      Date.now() < deadline &&
      (await retry('counting applied events', () => distinctApplied(pool, schema))) < committed.size
    )
      await sleep(500);
    const drainSeconds = Math.round((Date.now() - wroteAt) / 100) / 10;
    const backlog = (await getStatus({ db: pool, schema })).backlog.events;
    await sampler.stop();
    await consumers.stopAll();
    await fleet.stopAll();
    const applied = await checkApplied(pool, schema, committed);
    if (backlog > 0) applied.examples.push(`${backlog} events still unpublished at the end`);
    const counts = faults.counts;
    return {
      events,
      committed: committed.size,
      lost: applied.lost,
      appliedTwice: applied.appliedTwice,
      orderViolations: applied.orderViolations,
      duplicates: consumers.duplicates(),
      kills: counts.relayKills + counts.consumerKills + counts.brokerKills,
      maxStallSeconds: sampler.maxStallSeconds(),
      phantoms: applied.phantoms,
      ...counts,
      netCut: ns !== undefined,
      ...(netCutReason ? { netCutReason } : {}),
      writerFailures: writers.failures(),
      ambiguousCommitted: found.length,
      consumerProcesses: consumers.incarnations(),
      relayCrashes: fleet.crashes,
      consumerCrashes: consumers.crashes,
      rate,
      leaseMs,
      sessionMs,
      drainSeconds,
      seconds: Math.round((Date.now() - t0) / 100) / 10,
      faults: faults.marks,
      samples: sampler.samples,
      examples: applied.examples,
    };
  } finally {
    writers?.stop();
    await writers?.done.catch(() => {});
    await sampler?.stop();
    await consumers?.stopAll().catch(() => {});
    await fleet?.stopAll().catch(() => {});
    if (process.env.CHAOS_RELAY_LOGS) {
      writeFileSync(process.env.CHAOS_RELAY_LOGS, `${fleet?.logs() ?? ''}\n${consumers?.logs() ?? ''}`);
    }
    await db?.pool.end().catch(() => {});
    await cluster?.destroy();
    await postgres?.destroy();
    ns?.destroy();
  }
}
