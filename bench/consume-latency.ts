import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { createConsumer, migrate } from '../src/index.ts';
import { kafka } from '../src/transports/kafka/index.ts';
import { benchEvent, effectSql, effectsTableSql, groupRecorder } from './consume-handler.ts';
import type { PublisherRequest, PublisherResult } from './consume-publisher.ts';
import { progress, round, summarize, table } from './stats.ts';
import { createTopic, deleteTopics, uniqueName } from './topic.ts';

/** The systems the latency phase runs: Herald's consumer.on, as the throughput phase names them. */
export type LatencySystem = 'herald' | 'herald-pipeline' | 'herald-offsets';
export const latencySystems: readonly LatencySystem[] = ['herald', 'herald-pipeline', 'herald-offsets'];

export interface ConsumeLatencyOptions {
  rates: number[];
  seconds: number;
  concurrency: number;
  partitions: number;
  keys: number;
  systems: readonly LatencySystem[];
  /** What the handler waits after its statement, ms: a call to another service (0: none). */
  handlerMs: number;
  json: boolean;
}

export interface ConsumeLatencyResult {
  system: LatencySystem;
  /** Events a second offered, and published in fact (events / the publishing's seconds). */
  rate: number;
  achievedPerSec: number;
  events: number;
  effects: number;
  /** Publish called → the broker's acknowledgement, ms: the part of the latency before the consumer. */
  publishP50Ms: number;
  publishP99Ms: number;
  /** Publish called → the handler's transaction committed, ms. */
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  concurrency: number;
  handlerMs: number;
  groups?: number;
  eventsPerGroup?: number;
}

/**
 * Seconds at the rate before the measured ones: the pool opens its connections as the groups at
 * once grow, and the first second's events waited for that (p90 near 200 ms at 1,000/s).
 */
const warmUpSeconds = 1;

/** Runs consume-publisher.ts on a thread: `joining` once its first event is sent, `go` paces the rest. */
function startPublisher(request: PublisherRequest) {
  const worker = new Worker(new URL('./consume-publisher.ts', import.meta.url), { workerData: request });
  const failed = new Promise<never>((_, reject) => {
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`the publisher thread exited with ${code}`)));
  });
  const next = () => Promise.race([new Promise((resolve) => worker.once('message', resolve)), failed]);
  const joining = next();
  return {
    joining,
    /** Ends the thread, where the measurement failed before it finished. */
    stop: () => worker.terminate(),
    async go(): Promise<PublisherResult> {
      const result = next();
      worker.postMessage('go');
      return (await result) as PublisherResult;
    },
  };
}

/**
 * Commit times of the handlers' events, seen on the pool's clients: a handler notes its event on
 * the client of its transaction (`tx`, a pg PoolClient), and the client's COMMIT, once it returned,
 * stamps every event noted since (a ROLLBACK drops them: they run again).
 */
function commitClock(pool: pg.Pool) {
  const noted = new WeakMap<object, number[]>();
  const committedAt = new Map<number, number>();
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      const result = query(...args);
      const text = args[0];
      if (text === 'COMMIT' || text === 'ROLLBACK') {
        const events = noted.get(client) ?? [];
        noted.delete(client);
        if (text === 'COMMIT') {
          void (result as Promise<unknown>).then(
            () => {
              const now = performance.timeOrigin + performance.now();
              for (const n of events) if (!committedAt.has(n)) committedAt.set(n, now);
            },
            () => {},
          );
        }
      }
      return result;
    };
  });
  return {
    committedAt,
    note(tx: object, n: number): void {
      const events = noted.get(tx);
      if (events) events.push(n);
      else noted.set(tx, [n]);
    },
  };
}

/**
 * One system at one rate: a consumer on a topic of its own, the events published to it at `rate`
 * a second for `seconds` while it runs, each timed from its publish call to its handler's commit.
 */
async function measure(
  system: LatencySystem,
  rate: number,
  options: ConsumeLatencyOptions,
  env: { databaseUrl: string; brokers: string[] },
): Promise<ConsumeLatencyResult> {
  const topic = await createTopic(env.brokers, 'herald-bench-consume-latency', options.partitions);
  const schema = uniqueName('herald_bench_latency');
  const s = `"${schema}"`;
  const pipeline = system === 'herald-pipeline';
  const pool = new pg.Pool({ connectionString: env.databaseUrl, max: options.concurrency + 2, pipeline });
  pool.on('error', () => {});
  const clock = commitClock(pool);
  const transport = kafka({ brokers: env.brokers, clientId: `herald-bench-latency-${system}` });
  const { groups, metrics } = groupRecorder();
  const warm = Math.round(rate * warmUpSeconds);
  const total = warm + Math.round(rate * options.seconds);
  try {
    await pool.query(`CREATE SCHEMA ${s}`);
    await pool.query(effectsTableSql(s));
    await migrate(pool, { schema });
    const Def = benchEvent(topic);
    const consumer = createConsumer({
      transport,
      group: uniqueName(`herald-bench-latency-${system}`),
      db: pool,
      schema,
      concurrency: options.concurrency,
      lagIntervalMs: 0,
      metrics,
      groupCommit: pipeline ? { pipeline: true } : true,
      ...(system === 'herald-offsets' ? { offsets: 'database' as const } : {}),
    });
    consumer.on(Def, async (event, { tx }) => {
      const n = event.payload.n - 1;
      await tx.query(effectSql(s), [event.id, event.payload.key, n]);
      if (options.handlerMs > 0) await sleep(options.handlerMs);
      clock.note(tx as object, n);
    });
    await consumer.start();
    const publisher = startPublisher({ brokers: env.brokers, topic, rate, total, keys: options.keys });
    try {
      // The publisher's first event (noted as -1) handled: the consumer has joined.
      await publisher.joining;
      while (!clock.committedAt.has(-1)) await sleep(5);
      progress(`${system}: ${total} events at ${rate}/s for ${warmUpSeconds} + ${options.seconds} s`);
      groups.count = 0;
      groups.events = 0;
      const { publishedAt, ackMs, seconds: publishSeconds } = await publisher.go();
      let last = -1;
      let movedAt = performance.now();
      while (clock.committedAt.size < total + 1) {
        await sleep(10);
        if (clock.committedAt.size !== last) {
          last = clock.committedAt.size;
          movedAt = performance.now();
        } else if (performance.now() - movedAt > 30_000) {
          throw new Error(`${system}: stalled at ${last - 1}/${total} handled`);
        }
      }
      const latencies = Array.from(
        { length: total - warm },
        (_, k) => (clock.committedAt.get(warm + k) as number) - (publishedAt[warm + k] as number),
      );
      const summary = summarize(latencies);
      const acks = summarize(Array.from(ackMs.subarray(warm)));
      const { rows } = await pool.query<{ effects: number }>(
        `SELECT count(*)::int AS effects FROM ${s}.effects WHERE n >= $1`,
        [warm],
      );
      return {
        system,
        rate,
        achievedPerSec: round(total / publishSeconds, 0),
        events: total - warm,
        effects: rows[0]?.effects ?? 0,
        publishP50Ms: round(acks.p50, 1),
        publishP99Ms: round(acks.p99, 1),
        p50Ms: round(summary.p50, 1),
        p90Ms: round(summary.p90, 1),
        p99Ms: round(summary.p99, 1),
        maxMs: round(summary.max, 1),
        concurrency: options.concurrency,
        handlerMs: options.handlerMs,
        ...(groups.count > 0 ? { groups: groups.count, eventsPerGroup: round(groups.events / groups.count, 1) } : {}),
      };
    } finally {
      await publisher.stop();
      await consumer.stop();
    }
  } finally {
    await transport.close();
    await pool.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`).catch(() => {});
    await pool.end();
    await deleteTopics(env.brokers, [topic]).catch(() => {});
  }
}

/**
 * `npm run bench -- consume --rate R[,R…]`: latency of consumer.on at steady rates, from the
 * publish call to the commit of the handler's transaction, one JSON line per system and rate.
 */
export async function consumeLatencyBench(
  options: ConsumeLatencyOptions,
  env: { databaseUrl: string; brokers: string[] },
): Promise<ConsumeLatencyResult[]> {
  const results: ConsumeLatencyResult[] = [];
  for (const system of options.systems) {
    for (const rate of options.rates) {
      const result = await measure(system, rate, options, env);
      results.push(result);
      if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    }
  }
  if (!options.json) {
    const rows = [
      [
        'system',
        'offered/s',
        'published/s',
        'publish p50 / p99 ms',
        'p50 ms',
        'p90 ms',
        'p99 ms',
        'max ms',
        'events per group',
        'effects',
      ],
      ...results.map((r) => [
        r.system,
        String(r.rate),
        String(r.achievedPerSec),
        `${r.publishP50Ms} / ${r.publishP99Ms}`,
        String(r.p50Ms),
        String(r.p90Ms),
        String(r.p99Ms),
        String(r.maxMs),
        String(r.eventsPerGroup ?? '-'),
        `${r.effects}/${r.events}`,
      ]),
    ];
    process.stdout.write(
      `${table(rows)}\n\nPublish call → the handler's transaction committed, per event; ${options.partitions} partitions, ${options.keys} keys, concurrency ${options.concurrency}, ${options.seconds} s per rate${options.handlerMs > 0 ? `, each handler waiting ${options.handlerMs} ms after its statement` : ''}.\n`,
    );
  }
  return results;
}
