import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProduceAcks, Producer } from '@platformatic/kafka';
import pg from 'pg';
import type { BenchPayload } from './payload.ts';
import {
  type BenchSystem,
  backlogChunk,
  commitTimed,
  inTransaction,
  type SystemConfig,
  type Writer,
} from './system.ts';
import { createTopic, deleteTopics, uniqueName } from './topic.ts';

/**
 * The outbox relay as the seed services write it: a table with a `published_at` flag, a poller
 * ticking every 100 ms that locks up to 100 unpublished rows (FOR UPDATE SKIP LOCKED), sends them
 * one at a time with a synchronous producer (acks=all, idempotent: sarama's SyncProducer with
 * RequiredAcks=WaitForAll, Idempotent=true, MaxOpenRequests=1) and marks each row as it goes.
 */
export const baselinePollMs = 100;
export const baselineBatch = 100;

function tableSql(s: string): string {
  return `CREATE SCHEMA ${s};
CREATE TABLE ${s}.outbox (
  id uuid PRIMARY KEY,
  aggregate_id text NOT NULL,
  event_type text NOT NULL,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);
CREATE INDEX outbox_unpublished ON ${s}.outbox (created_at) WHERE published_at IS NULL`;
}

interface OutboxRow {
  id: string;
  aggregate_id: string;
  event_type: string;
  payload: string;
}

export interface BaselineRelay {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly published: number;
  readonly errors: number;
}

export function createBaselineRelay(options: { pool: pg.Pool; schema: string; topic: string; brokers: string[] }) {
  const { pool, topic } = options;
  const s = `"${options.schema}"`;
  const stopper = new AbortController();
  let producer: Producer | undefined;
  let loop: Promise<void> = Promise.resolve();
  const state = { published: 0, errors: 0 };

  const tick = async (p: Producer) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<OutboxRow>(
        `SELECT id, aggregate_id, event_type, payload::text AS payload FROM ${s}.outbox
WHERE published_at IS NULL ORDER BY created_at LIMIT ${baselineBatch} FOR UPDATE SKIP LOCKED`,
      );
      for (const row of rows) {
        await p.send({
          messages: [
            {
              topic,
              key: Buffer.from(row.aggregate_id),
              value: Buffer.from(row.payload),
              headers: new Map([
                [Buffer.from('ce_id'), Buffer.from(row.id)],
                [Buffer.from('ce_type'), Buffer.from(row.event_type)],
              ]),
            },
          ],
        });
        await client.query(`UPDATE ${s}.outbox SET published_at = now() WHERE id = $1`, [row.id]);
      }
      await client.query('COMMIT');
      state.published += rows.length;
    } catch (error) {
      state.errors++;
      await client.query('ROLLBACK').catch(() => {});
      process.stderr.write(`baseline relay: ${(error as Error).message}\n`);
    } finally {
      client.release();
    }
  };

  return {
    get published() {
      return state.published;
    },
    get errors() {
      return state.errors;
    },
    async start() {
      producer = new Producer({
        clientId: 'baseline-relay',
        bootstrapBrokers: options.brokers,
        idempotent: true,
        acks: ProduceAcks.ALL,
      });
      await producer.metadata({ topics: [topic] });
      const p = producer;
      // A ticker: a tick starts every 100 ms, or at once when the previous one ran longer.
      loop = (async () => {
        while (!stopper.signal.aborted) {
          const started = Date.now();
          await tick(p);
          const wait = baselinePollMs - (Date.now() - started);
          if (wait > 0) await sleep(wait, undefined, { signal: stopper.signal }).catch(() => {});
        }
      })();
    },
    async stop() {
      stopper.abort();
      await loop;
      await producer?.close().catch(() => {});
    },
  } satisfies BaselineRelay;
}

/** The application side of the seed services: a plain INSERT into their outbox table. */
export function baselineWriter(pool: pg.Pool, schema: string): Writer {
  const s = `"${schema}"`;
  return {
    async writeBacklog(payloads: readonly BenchPayload[]) {
      const ids: string[] = [];
      for (let i = 0; i < payloads.length; i += backlogChunk) {
        const chunk = payloads.slice(i, i + backlogChunk);
        const chunkIds = chunk.map(() => randomUUID());
        await inTransaction(pool, (tx) =>
          tx.query(
            `INSERT INTO ${s}.outbox (id, aggregate_id, event_type, payload)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[])`,
            [chunkIds, chunk.map((p) => p.key), chunk.map(() => 'bench.event'), chunk.map((p) => JSON.stringify(p))],
          ),
        );
        ids.push(...chunkIds);
      }
      return ids;
    },
    commitOne(payload: BenchPayload) {
      return commitTimed(pool, async (tx) => {
        const id = randomUUID();
        await tx.query(`INSERT INTO ${s}.outbox (id, aggregate_id, event_type, payload) VALUES ($1, $2, $3, $4)`, [
          id,
          payload.key,
          'bench.event',
          JSON.stringify(payload),
        ]);
        return id;
      });
    },
  };
}

/** The seed-style system: its own schema, table and topic. */
export async function baselineSystem(config: SystemConfig): Promise<BenchSystem> {
  const schema = uniqueName('herald_bench_base');
  const topic = await createTopic(config.brokers, 'herald-bench-baseline', config.partitions);
  const admin = new pg.Pool({ connectionString: config.databaseUrl, max: 2 });
  const relayPool = new pg.Pool({ connectionString: config.databaseUrl, max: 2 });
  admin.on('error', () => {});
  relayPool.on('error', () => {});
  await admin.query(tableSql(`"${schema}"`));
  const writer = baselineWriter(admin, schema);
  const relay = createBaselineRelay({ pool: relayPool, schema, topic, brokers: config.brokers });
  let started = false;

  return {
    name: 'baseline',
    relays: 1,
    topic,
    writer: { system: 'baseline', schema, topic },
    writeBacklog: (payloads) => writer.writeBacklog(payloads),
    async startRelay() {
      started = true;
      await relay.start();
    },
    published: () => relay.published,
    async stopRelay() {
      if (started) await relay.stop();
      started = false;
    },
    async close() {
      if (started) await relay.stop().catch(() => {});
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await deleteTopics(config.brokers, [topic]).catch(() => {});
      await Promise.all([admin.end(), relayPool.end()]);
    },
  };
}
