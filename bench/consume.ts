import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createConsumer, migrate } from '../src/index.ts';
import { kafka } from '../src/transports/kafka/index.ts';
import { baselineTablesSql, buildDeliveries, runBaselineConsumer } from './consume-baseline.ts';
import { groupMax, statementFloor } from './consume-floor.ts';
import { benchEvent, effectSql, effectsTableSql, groupRecorder } from './consume-handler.ts';
import { kafkaFloor } from './consume-kafka-floor.ts';
import { cpuProbe, per10k } from './cpu.ts';
import { progress, round, table } from './stats.ts';
import { createTopic, deleteTopics, uniqueName } from './topic.ts';

/**
 * herald: consumer.on with group commit (the default); herald-pipeline: the same with
 * `groupCommit.pipeline` on a pool in pipeline mode; herald-single: one transaction per event;
 * floor: the handler's statements alone (see statementFloor); floor-pipeline: the same, each
 * transaction's statements sent together on a pipelining pool; floor-inbox: floor-pipeline with
 * the inbox rows that make the effects once; floor-kafka: floor-inbox fed by the Kafka client's
 * own consumer (bench/consume-kafka-floor.ts), the floor of herald-pipeline; herald-offsets:
 * consumer.on with `offsets: 'database'` (the position stored in the handler's transaction, no
 * inbox rows; each partition handled in order, its messages in runs that share a transaction).
 */
export type ConsumeSystem =
  | 'herald'
  | 'herald-pipeline'
  | 'herald-single'
  | 'herald-batch'
  | 'herald-offsets'
  | 'baseline'
  | 'floor'
  | 'floor-pipeline'
  | 'floor-inbox'
  | 'floor-kafka';

/** Every system, in the order they run and are shown. */
export const consumeSystems: readonly ConsumeSystem[] = [
  'herald',
  'herald-pipeline',
  'herald-single',
  'herald-batch',
  'herald-offsets',
  'baseline',
  'floor',
  'floor-pipeline',
  'floor-inbox',
  'floor-kafka',
];

/**
 * What a run without `--only` measures: every system whose effects are once per event.
 * herald-offsets makes them once per message (the events published twice run twice), so it runs
 * when asked for.
 */
export const defaultConsumeSystems = consumeSystems.filter((s) => s !== 'herald-offsets');

/** The effects a system must leave: one per event, or (herald-offsets) one per message. */
export const expectedEffects = (r: Pick<ConsumeResult, 'system' | 'events' | 'deliveries'>): number =>
  r.system === 'herald-offsets' ? r.deliveries : r.events;

/** The floors that are the handler's statements alone: no broker, so no second deliveries. */
const isFloor = (system: ConsumeSystem) => system.startsWith('floor') && system !== 'floor-kafka';

export interface ConsumeBenchOptions {
  events: number;
  /** Share of the events published a second time. */
  duplicates: number;
  /** Herald's concurrency. */
  concurrency: number;
  json: boolean;
  systems: readonly ConsumeSystem[];
  /** Partitions of the bench's topic (default 6). */
  partitions: number;
  /** Distinct event keys (default 1000). */
  keys: number;
}

export interface ConsumeResult {
  system: ConsumeSystem;
  /** Distinct events in the topic. */
  events: number;
  /** events / seconds. */
  eventsPerSec: number;
  /** Rows the handler wrote, counted in the database after the run. */
  effects: number;
  /** Messages that were a second delivery of an event. */
  duplicatesDelivered: number;
  /** Distinct event ids among the effects rows. */
  distinctEffects: number;
  /** Deliveries the system found already handled and skipped. */
  duplicatesSkipped: number;
  deadLettered: number;
  /** Messages in the topic: events + duplicatesDelivered. */
  deliveries: number;
  deliveriesPerSec: number;
  /** From consumer start until every delivery was handled. */
  seconds: number;
  /** From consumer start until the first delivery was handled (group join, first fetch). */
  firstHandledSeconds: number;
  /** Handler transactions at once (Herald); the baseline runs one message at a time. */
  concurrency: number;
  /** Baseline: mean ms per message in its three statements, and in its offset commit. */
  databaseMsPerMessage?: number;
  offsetCommitMsPerMessage?: number;
  /** herald-batch: events per handler call at most. */
  batchSize: number;
  partitions: number;
  keys: number;
  /** Herald with group commit: the group transactions that committed, and their mean events. */
  groups?: number;
  eventsPerGroup?: number;
  /** Herald with group commit: the group transactions it allowed at once, the mean over the drain (sampled every 100 ms). */
  groupsAtOnce?: number;
  /**
   * CPU seconds per 10,000 events from start to the last delivery handled: the bench's thread,
   * where the consumer (or the baseline, or the floor) runs, and every process of the PostgreSQL
   * server. Less noisy than events/s on a machine whose speed moves from run to run.
   */
  consumerCpuSecPer10k: number | null;
  pgCpuSecPer10k: number | null;
}

const batchSize = 100;
const batchWaitMs = 20;
const stallMs = 60_000;

interface Context {
  topic: string;
  brokers: string[];
  databaseUrl: string;
  deliveries: number;
  options: ConsumeBenchOptions;
}

/** Polls `count()` until it reaches `target`; throws when it stands still for `stallMs`. */
async function waitFor(what: string, count: () => number, target: number, onFirst: () => void): Promise<void> {
  let last = count();
  let movedAt = Date.now();
  let reportedAt = Date.now();
  let first = false;
  while (last < target) {
    await sleep(2);
    const c = count();
    const now = Date.now();
    if (!first && c > 0) {
      first = true;
      onFirst();
    }
    if (c !== last) {
      last = c;
      movedAt = now;
    } else if (now - movedAt > stallMs) throw new Error(`${what}: stalled at ${c}/${target}`);
    if (now - reportedAt > 5000) {
      progress(`${what}: ${c}/${target}`);
      reportedAt = now;
    }
  }
}

async function runHerald(system: Exclude<ConsumeSystem, 'baseline'>, pool: pg.Pool, schema: string, ctx: Context) {
  await migrate(pool, { schema });
  const s = `"${schema}"`;
  const Def = benchEvent(ctx.topic);
  const transport = kafka({ brokers: ctx.brokers, clientId: `herald-bench-${system}` });
  const { groups, metrics } = groupRecorder();
  const consumer = createConsumer({
    transport,
    group: uniqueName(`herald-bench-${system}`),
    db: pool,
    schema,
    concurrency: ctx.options.concurrency,
    lagIntervalMs: 0,
    metrics,
    groupCommit: system === 'herald-pipeline' ? { pipeline: true } : system !== 'herald-single',
    ...(system === 'herald-offsets' ? { offsets: 'database' as const } : {}),
  });
  if (system !== 'herald-batch') {
    consumer.on(Def, async (event, { tx }) => {
      await tx.query(effectSql(s), [event.id, event.payload.key, event.payload.n]);
    });
  } else {
    consumer.onBatch(
      Def,
      async (events, { tx }) => {
        await tx.query(
          `INSERT INTO ${s}.effects (event_id, key, n) SELECT * FROM unnest($1::text[], $2::text[], $3::int[])`,
          [events.map((e) => e.id), events.map((e) => e.payload.key), events.map((e) => e.payload.n)],
        );
      },
      { size: batchSize, maxWaitMs: batchWaitMs },
    );
  }
  const done = () => {
    const st = consumer.stats();
    return st.handled + st.duplicates + st.deadLettered + st.skipped;
  };
  const started = performance.now();
  let firstMs = 0;
  // Group commit's limit on transactions at once, sampled over the drain (it moves as it runs).
  const atOnce = { sum: 0, samples: 0 };
  const sampler = setInterval(() => {
    const g = consumer.stats().groupsAtOnce;
    if (g !== null) {
      atOnce.sum += g;
      atOnce.samples++;
    }
  }, 100);
  try {
    await consumer.start();
    await waitFor(system, done, ctx.deliveries, () => {
      firstMs = performance.now() - started;
    });
    const elapsedMs = performance.now() - started;
    const st = consumer.stats();
    if (st.lastError) progress(`${system}: last error ${JSON.stringify(st.lastError)}`);
    if (st.skipped > 0) progress(`${system}: ${st.skipped} messages skipped as unknown types`);
    return {
      elapsedMs,
      firstMs,
      skipped: st.duplicates,
      deadLettered: st.deadLettered,
      groups,
      ...(atOnce.samples > 0 ? { groupsAtOnce: round(atOnce.sum / atOnce.samples, 1) } : {}),
    };
  } finally {
    clearInterval(sampler);
    await consumer.stop();
    await transport.close();
  }
}

async function runSystem(system: ConsumeSystem, ctx: Context, duplicatesDelivered: number): Promise<ConsumeResult> {
  const { options } = ctx;
  const schema = uniqueName('herald_bench_consume');
  const pipeline = system === 'herald-pipeline' || system.startsWith('floor-');
  const pool = new pg.Pool({ connectionString: ctx.databaseUrl, max: options.concurrency + 2, pipeline });
  pool.on('error', () => {});
  const s = `"${schema}"`;
  try {
    await pool.query(`CREATE SCHEMA ${s}`);
    await pool.query(effectsTableSql(s));
    progress(`${system}: consuming ${ctx.deliveries} deliveries (schema ${schema})`);
    const probe = await cpuProbe(pool, 'herald-bench-consume');
    const before = probe.sample();
    let run: {
      elapsedMs: number;
      firstMs: number;
      skipped: number;
      deadLettered: number;
      groups?: { count: number; events: number };
      groupsAtOnce?: number;
    };
    let split: Pick<ConsumeResult, 'databaseMsPerMessage' | 'offsetCommitMsPerMessage'> = {};
    if (system === 'baseline') {
      await pool.query(baselineTablesSql(s));
      const b = await runBaselineConsumer({
        brokers: ctx.brokers,
        topic: ctx.topic,
        pool,
        s,
        deliveries: ctx.deliveries,
      });
      run = { elapsedMs: b.elapsedMs, firstMs: b.firstMessageMs, skipped: b.skipped, deadLettered: 0 };
      split = {
        databaseMsPerMessage: round(b.databaseMs / b.deliveries, 2),
        offsetCommitMsPerMessage: round(b.offsetCommitMs / b.deliveries, 2),
      };
    } else if (system === 'floor-kafka') {
      await migrate(pool, { schema });
      run = await kafkaFloor({ ...ctx, pool, schema, concurrency: options.concurrency });
    } else if (isFloor(system)) {
      if (system === 'floor-inbox') await migrate(pool, { schema });
      run = await statementFloor(pool, schema, ctx.deliveries - duplicatesDelivered, options.concurrency, {
        together: pipeline,
        inbox: system === 'floor-inbox',
        keys: options.keys,
      });
    } else {
      run = await runHerald(system, pool, schema, ctx);
    }
    const cpu = per10k(before, probe.sample(), ctx.deliveries - duplicatesDelivered);
    const { rows } = await pool.query<{ effects: number; distinct: number }>(
      `SELECT count(*)::int AS effects, count(DISTINCT event_id)::int AS distinct FROM ${s}.effects`,
    );
    const counted = rows[0] as { effects: number; distinct: number };
    const seconds = run.elapsedMs / 1000;
    const events = ctx.deliveries - duplicatesDelivered;
    progress(`${system}: ${ctx.deliveries} deliveries in ${round(seconds, 3)} s; ${counted.effects} effects`);
    return {
      system,
      events,
      eventsPerSec: round(events / seconds, 0),
      effects: counted.effects,
      // The floor writes each event once: it is given no second deliveries.
      duplicatesDelivered: isFloor(system) ? 0 : duplicatesDelivered,
      distinctEffects: counted.distinct,
      duplicatesSkipped: run.skipped,
      deadLettered: run.deadLettered,
      deliveries: isFloor(system) ? events : ctx.deliveries,
      deliveriesPerSec: round((isFloor(system) ? events : ctx.deliveries) / seconds, 0),
      seconds: round(seconds, 3),
      firstHandledSeconds: round(run.firstMs / 1000, 3),
      concurrency: system === 'baseline' ? 1 : options.concurrency,
      ...split,
      batchSize: system === 'herald-batch' ? batchSize : system.startsWith('floor') ? groupMax : 1,
      partitions: options.partitions,
      keys: options.keys,
      ...(run.groups && run.groups.count > 0
        ? { groups: run.groups.count, eventsPerGroup: round(run.groups.events / run.groups.count, 1) }
        : {}),
      ...(run.groupsAtOnce === undefined ? {} : { groupsAtOnce: run.groupsAtOnce }),
      consumerCpuSecPer10k: cpu.relayCpuSecPer10k,
      pgCpuSecPer10k: cpu.pgCpuSecPer10k,
    };
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`).catch(() => {});
    await pool.end();
  }
}

export async function consumeBench(options: ConsumeBenchOptions, env: { databaseUrl: string; brokers: string[] }) {
  const topic = await createTopic(env.brokers, 'herald-bench-consume', options.partitions);
  const results: ConsumeResult[] = [];
  try {
    const { deliveries, duplicates } = buildDeliveries(topic, options.events, options.duplicates, options.keys);
    progress(`publishing ${options.events} events + ${duplicates} second deliveries to ${topic} (untimed)`);
    const publisher = kafka({ brokers: env.brokers, clientId: 'herald-bench-publisher' });
    try {
      await publisher.publish(deliveries);
    } finally {
      await publisher.close();
    }
    const { brokers, databaseUrl } = env;
    const ctx: Context = { topic, brokers, databaseUrl, deliveries: deliveries.length, options };
    for (const system of options.systems) {
      const result = await runSystem(system, ctx, duplicates);
      results.push(result);
      if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    }
  } finally {
    await deleteTopics(env.brokers, [topic]).catch(() => {});
  }
  if (!options.json) process.stdout.write(`${report(results)}\n`);
  return results;
}

function report(results: ConsumeResult[]): string {
  const systems = consumeSystems;
  const shown = systems.map((name) => results.find((r) => r.system === name));
  const base = results.find((r) => r.system === 'baseline');
  const rows: string[][] = [['', ...systems]];
  const add = (label: string, f: (r: ConsumeResult) => number) =>
    rows.push([label, ...shown.map((r) => (r ? String(f(r)) : '-'))]);
  add('events', (r) => r.events);
  add('second deliveries', (r) => r.duplicatesDelivered);
  add('deliveries/s', (r) => r.deliveriesPerSec);
  add('events/s', (r) => r.eventsPerSec);
  add('x baseline', (r) => (base ? round(r.eventsPerSec / base.eventsPerSec, 1) : Number.NaN));
  add('seconds', (r) => r.seconds);
  add('first handled after (s)', (r) => r.firstHandledSeconds);
  add('effects (rows)', (r) => r.effects);
  add('distinct effects', (r) => r.distinctEffects);
  add('duplicates skipped', (r) => r.duplicatesSkipped);
  add('dead-lettered', (r) => r.deadLettered);
  add('events per group transaction', (r) => r.eventsPerGroup ?? Number.NaN);
  add('group transactions at once (mean)', (r) => r.groupsAtOnce ?? Number.NaN);
  add('consumer CPU s / 10k events', (r) => r.consumerCpuSecPer10k ?? Number.NaN);
  add('PostgreSQL CPU s / 10k events', (r) => r.pgCpuSecPer10k ?? Number.NaN);
  const notes = `herald: consumer.on with group commit (default, up to 64 events a transaction, a key's waiting events as a run); herald-pipeline: the same, groupCommit.pipeline on a pipelining pool; herald-single: groupCommit false; herald-offsets: offsets 'database' (no inbox; each partition in order, its messages in runs of up to 64 a transaction). One topic, ${results[0]?.partitions ?? '-'} partitions, ${results[0]?.keys ?? '-'} keys, a consumer group and a schema per system; Herald's concurrency ${results.find((r) => r.system !== 'baseline')?.concurrency ?? '-'}; herald-batch: up to ${batchSize} events per handler call (${batchWaitMs} ms wait); floor: the handler's statement per event alone (no broker, no inbox), in transactions of ${groupMax}, at the same concurrency; floor-pipeline: the same, each transaction's statements sent together on a pipelining pool; floor-inbox: floor-pipeline with each transaction's inbox rows claimed first, by Herald's statement; floor-kafka: floor-inbox fed by the Kafka client's own consumer (every delivery read, its id and payload decoded, offsets committed per transaction; no per-key order).`;
  return `${table(rows)}\n\n${notes}`;
}
