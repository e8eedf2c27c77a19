import { writeFileSync } from 'node:fs';
import { type PrivateKafka, privateKafka } from '../infra/kafka.mjs';
import { type PrivatePostgres, privatePostgres } from '../infra/postgres.mjs';
import { createOutbox, getStatus } from '../src/index.ts';
import { freshSchema, type TestSchema } from '../test/support/env.ts';
import { createTopic, readTopic } from '../test/support/kafka.ts';
import { createFleet, type Fleet } from './fleet.ts';
import { type Failover, measureFailover, probeKeys, settled } from './probes.ts';
import { type Verdict, verify } from './verify.ts';
import { ChaosTick, committedAnyway, startWriters } from './writers.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ChaosOptions {
  events: number;
  relays: number;
  kills: number;
  leaseMs: number;
  writers?: number;
  keysPerWriter?: number;
  perTransaction?: number;
  partitions?: number;
  log?: (line: string) => void;
}

export interface ChaosResult extends Omit<Verdict, 'examples'> {
  events: number;
  /** Committed events, writers' and failover probes'. */
  committed: number;
  probes: number;
  /** Writer transactions that failed (PostgreSQL restarting); their events were not counted unless found in the log. */
  writerFailures: number;
  /** Of the failed transactions' events, those the log shows committed anyway (a COMMIT whose answer was lost). */
  ambiguousCommitted: number;
  kills: number;
  stops: number;
  /** Whether the paused relay logged that it lost its leases after SIGCONT. */
  stoppedRelayFenced: boolean;
  /** Seconds from SIGCONT until the paused relay logged that its leases changed. */
  fencedAfterSeconds: number;
  kafkaRestarts: number;
  pgRestarts: number;
  /** Worst time from a SIGKILL until a probe event written to one of the dead relay's shards after the kill was published. */
  maxFailoverSeconds: number;
  /** Worst time from a SIGKILL until all shards were leased to live relays. */
  maxLeaseFailoverSeconds: number;
  failovers: Failover[];
  /** Seconds from the end of writing until every shard's cursor was past its last row. */
  drainSeconds: number;
  relayCrashes: string[];
  relays: number;
  leaseMs: number;
  seconds: number;
  examples: string[];
}

type Action = 'kill' | 'stop' | 'kafka' | 'pg';

/** kills SIGKILLs, with one SIGSTOP after the first, a Kafka restart in the middle and a PostgreSQL restart before the last. */
export function plan(kills: number): Action[] {
  const actions: Action[] = Array.from({ length: kills }, () => 'kill');
  actions.splice(Math.min(1, actions.length), 0, 'stop');
  actions.splice(Math.ceil(actions.length / 2), 0, 'kafka');
  actions.splice(Math.max(0, actions.length - (kills > 0 ? 1 : 0)), 0, 'pg');
  return actions;
}

/** Retries `fn` every 200 ms (PostgreSQL may be restarting) until it succeeds or timeoutMs passed. */
export async function retry<T>(what: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what}: ${error instanceof Error ? error.message : error}`);
      await sleep(200);
    }
  }
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const { events, relays, kills, leaseMs } = options;
  const log = options.log ?? (() => {});
  const started = Date.now();
  const actions = plan(kills);
  // Spread the writes over the disruptions: a rough length of each, in seconds.
  const estimate = actions.reduce(
    (s, a) => s + { kill: (leaseMs * 1.6) / 1000 + 3, stop: (leaseMs * 2) / 1000 + 3, kafka: 15, pg: 6 }[a],
    5,
  );
  let db: TestSchema | undefined;
  let fleet: Fleet | undefined;
  let writers: ReturnType<typeof startWriters> | undefined;
  // Restarted mid-run: a Kafka broker and a PostgreSQL cluster of the run's own (infra/), never the
  // shared ones, which may be the user's. Rejects with ServiceUnavailable when they cannot run here.
  let kafka: PrivateKafka | undefined;
  let postgres: PrivatePostgres | undefined;
  try {
    kafka = await privateKafka();
    postgres = await privatePostgres();
    log(
      `private Kafka on ${kafka.bootstrap} (${kafka.startMs} ms), PostgreSQL on ${postgres.url} (${postgres.startMs} ms)`,
    );
    const brokers = [kafka.bootstrap];
    db = await freshSchema(postgres.url);
    const { pool, schema } = db;
    const topic = await createTopic(options.partitions ?? 6, 'herald-chaos', {}, brokers);
    log(
      `schema ${schema}, topic ${topic}, ${events} events over ~${Math.round(estimate)} s, plan: ${actions.join(' ')}`,
    );
    const shardCount = (await pool.query<{ n: number }>(`SELECT shard_count AS n FROM "${schema}".settings`)).rows[0]
      ?.n as number;
    const keysByShard = await probeKeys(pool, schema);
    fleet = createFleet(schema, {
      HERALD_LEASE_MS: String(leaseMs),
      DATABASE_URL: postgres.url,
      KAFKA_BROKERS: kafka.bootstrap,
    });
    await fleet.start(relays);
    await settled(pool, schema, fleet, shardCount, 30_000);

    writers = startWriters({
      pool,
      schema,
      topic,
      writers: options.writers ?? 4,
      keysPerWriter: options.keysPerWriter ?? 50,
      perTransaction: options.perTransaction ?? 10,
      events,
      rate: events / estimate,
    });
    const probeOutbox = createOutbox({ schema });
    const probeIds: string[] = [];
    const probeN = new Map<string, number>();
    const writeProbe = async (key: string) =>
      retry('probe write', async () => {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          const n = probeN.get(key) ?? 0;
          probeN.set(key, n + 1); // never reused, even if this transaction fails
          const [added] = await probeOutbox.add(client, ChaosTick({ key, n }, { destination: topic }));
          const row = (
            await client.query<{ xid: string; shard: number }>(
              `SELECT pg_current_xact_id()::text AS xid, l.shard FROM "${schema}".log l WHERE l.id = $1`,
              [added?.id],
            )
          ).rows[0];
          await client.query('COMMIT');
          probeIds.push(added?.id as string);
          return row as { xid: string; shard: number };
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {});
          throw error;
        } finally {
          client.release();
        }
      });

    const failovers: Failover[] = [];
    let killed = 0;
    let stops = 0;
    let fenced = false;
    let fencedAfterSeconds = -1;
    let kafkaRestarts = 0;
    let pgRestarts = 0;
    for (const action of actions) {
      await sleep(Math.min(2000, leaseMs / 2));
      await settled(pool, schema, fleet, shardCount, 30_000).catch((e: Error) => log(`warning: ${e.message}`));
      const progress = `${writers.committed.length}/${events} committed`;
      if (action === 'kill' || action === 'stop') {
        const i = (killed + stops) % relays;
        const slot = fleet.slots[i];
        if (!slot) throw new Error(`no relay in slot ${i}`);
        const mine = await pool.query<{ shard: number }>(
          `SELECT shard FROM "${schema}".leases WHERE owner = $1 AND expires_at > now() ORDER BY shard`,
          [slot.instance],
        );
        const victimShards = mine.rows.map((r) => r.shard);
        const victimShard = victimShards[0] ?? 0;
        const at = Date.now();
        if (action === 'kill') {
          fleet.kill(i);
          log(`SIGKILL relay ${i} (${slot.instance}, ${mine.rows.length} shards), ${progress}`);
        } else {
          slot.process.child.kill('SIGSTOP');
          log(`SIGSTOP relay ${i} (${slot.instance}, ${mine.rows.length} shards) for ${2 * leaseMs} ms, ${progress}`);
        }
        const probe = await writeProbe(keysByShard.get(victimShard) ?? `probe-${victimShard}`);
        const victim = slot.instance;
        const f = await measureFailover({ pool, schema, victim, victimShards, shardCount, probe, at, action, log });
        failovers.push(f);
        if (action === 'kill') {
          killed++;
          await fleet.restart(i);
        } else {
          const logsBefore = slot.process.logs().length;
          await sleep(Math.max(0, at + 2 * leaseMs - Date.now()));
          slot.process.child.kill('SIGCONT');
          const resumed = Date.now();
          stops++;
          log(`SIGCONT relay ${i} after ${((Date.now() - at) / 1000).toFixed(1)} s`);
          const deadline = Date.now() + 4 * leaseMs;
          while (Date.now() < deadline && !fenced) {
            fenced = /lost shard leases|shard leases changed/.test(slot.process.logs().slice(logsBefore));
            if (!fenced) await sleep(100);
          }
          fencedAfterSeconds = Math.round((Date.now() - resumed) / 100) / 10;
          log(
            `the paused relay ${fenced ? 'logged its lost leases' : 'did NOT log lost leases'} ${fencedAfterSeconds} s after SIGCONT`,
          );
        }
      } else if (action === 'kafka') {
        log(`restarting Kafka, ${progress}`);
        const r = await kafka.restart({ log });
        kafkaRestarts++;
        log(`Kafka back after ${((r.stop.ms + r.ms) / 1000).toFixed(1)} s`);
      } else {
        log(`restarting PostgreSQL, ${progress}`);
        const t = Date.now();
        await postgres.restart({ mode: 'fast' });
        pgRestarts++;
        log(`PostgreSQL back after ${((Date.now() - t) / 1000).toFixed(1)} s`);
      }
    }
    log(`disruptions done after ${((Date.now() - started) / 1000).toFixed(0)} s; writing the rest at full speed`);
    writers.unpace();
    await writers.done;
    const wroteAt = Date.now();
    await retry(
      'waiting for the backlog to drain',
      async () => {
        const status = await getStatus({ db: pool, schema });
        if (status.backlog.events > 0) throw new Error(`${status.backlog.events} events not yet published`);
      },
      Math.max(120_000, events * 3),
    );
    const drainSeconds = (Date.now() - wroteAt) / 1000;
    const { uncertain } = writers;
    const found = await retry('resolving ambiguous commits', () => committedAnyway(pool, schema, uncertain));
    const committed = new Set([...writers.committed, ...probeIds, ...found]);
    log(`published; reading ${committed.size} events back from ${topic}`);
    const messages = await readTopic(topic, committed.size, {
      untilIds: [...committed],
      timeoutMs: Math.max(60_000, events * 2),
      brokers,
    });
    const verdict = verify(committed, messages);
    await fleet.stopAll();
    const killFailovers = failovers.filter((f) => f.action === 'kill');
    return {
      events,
      committed: committed.size,
      probes: probeIds.length,
      writerFailures: writers.failures(),
      ambiguousCommitted: found.length,
      ...verdict,
      kills: killed,
      stops,
      stoppedRelayFenced: fenced,
      fencedAfterSeconds,
      kafkaRestarts,
      pgRestarts,
      maxFailoverSeconds: Math.max(0, ...killFailovers.map((f) => f.publishedSeconds)),
      maxLeaseFailoverSeconds: Math.max(0, ...killFailovers.map((f) => f.leasedSeconds)),
      failovers,
      drainSeconds: Math.round(drainSeconds * 10) / 10,
      relayCrashes: fleet.crashes,
      relays,
      leaseMs,
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } finally {
    writers?.stop();
    await writers?.done.catch(() => {});
    await fleet?.stopAll().catch(() => {});
    if (fleet && process.env.CHAOS_RELAY_LOGS) writeFileSync(process.env.CHAOS_RELAY_LOGS, fleet.logs());
    // No DROP SCHEMA: the cluster goes, with the broker.
    await db?.pool.end().catch(() => {});
    await kafka?.destroy();
    await postgres?.destroy();
  }
}
