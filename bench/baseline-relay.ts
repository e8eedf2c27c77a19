import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { withTransaction } from '../src/store/connect.ts';
import type { Transport } from '../src/transports/transport.ts';
import type { BenchPayload } from './payload.ts';
import {
  type BenchSystem,
  backlogChunk,
  commitTimed,
  relayApplicationName,
  type SystemConfig,
  type Writer,
} from './system.ts';
import { uniqueName } from './topic.ts';
import { firstTimes, recordAcks } from './transports.ts';

/**
 * The outbox relay as the seed services write it: a table with a `published_at` flag, a poller
 * ticking every 100 ms that locks up to 100 unpublished rows (FOR UPDATE SKIP LOCKED), sends them
 * one at a time, each awaited until the broker acknowledged it, and marks each row as it goes.
 * The send is `await transport.publish([one])` through the same Herald Transport as Herald's
 * relay: on Kafka an idempotent producer with acks=all (sarama's SyncProducer with
 * RequiredAcks=WaitForAll, Idempotent=true, MaxOpenRequests=1); on RabbitMQ one publisher confirm
 * per message; on NATS one PubAck; on SQS one SendMessageBatch of one; on PostgreSQL one INSERT.
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

export function createBaselineRelay(options: { pool: pg.Pool; schema: string; topic: string; transport: Transport }) {
  const { pool, topic, transport } = options;
  const s = `"${options.schema}"`;
  const stopper = new AbortController();
  let loop: Promise<void> = Promise.resolve();
  const state = { published: 0, errors: 0 };

  const tick = async () => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<OutboxRow>(
        `SELECT id, aggregate_id, event_type, payload::text AS payload FROM ${s}.outbox
WHERE published_at IS NULL ORDER BY created_at LIMIT ${baselineBatch} FOR UPDATE SKIP LOCKED`,
      );
      for (const row of rows) {
        await transport.publish([
          {
            id: row.id,
            topic,
            key: row.aggregate_id,
            value: Buffer.from(row.payload),
            headers: { ce_id: row.id, ce_type: row.event_type },
          },
        ]);
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
      await transport.connect();
      // A ticker: a tick starts every 100 ms, or at once when the previous one ran longer.
      loop = (async () => {
        while (!stopper.signal.aborted) {
          const started = Date.now();
          await tick();
          const wait = baselinePollMs - (Date.now() - started);
          if (wait > 0) await sleep(wait, undefined, { signal: stopper.signal }).catch(() => {});
        }
      })();
    },
    async stop() {
      stopper.abort();
      await loop;
      await transport.close().catch(() => {});
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
        await withTransaction(pool, (tx) =>
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
    commit(payloads: readonly BenchPayload[]) {
      return commitTimed(pool, async (tx) => {
        const ids: string[] = [];
        for (const payload of payloads) {
          const id = randomUUID();
          await tx.query(`INSERT INTO ${s}.outbox (id, aggregate_id, event_type, payload) VALUES ($1, $2, $3, $4)`, [
            id,
            payload.key,
            'bench.event',
            JSON.stringify(payload),
          ]);
          ids.push(id);
        }
        return ids;
      });
    },
  };
}

/** The seed-style system: its own schema, table and destination. */
export async function baselineSystem(config: SystemConfig): Promise<BenchSystem> {
  const schema = uniqueName('herald_bench_base');
  const topic = await config.transport.prepare('herald-bench-baseline');
  const admin = new pg.Pool({ connectionString: config.databaseUrl, max: 2 });
  const relayPool = new pg.Pool({
    connectionString: config.databaseUrl,
    max: 2,
    application_name: relayApplicationName('baseline'),
    idleTimeoutMillis: 0, // its backends live through the run, so their CPU can be counted
  });
  admin.on('error', () => {});
  relayPool.on('error', () => {});
  await admin.query(tableSql(`"${schema}"`));
  const writer = baselineWriter(admin, schema);
  const acked = firstTimes();
  const handed = firstTimes();
  const transport = recordAcks(config.transport.create('baseline-relay'), acked, handed);
  const relay = createBaselineRelay({ pool: relayPool, schema, topic, transport });
  let started = false;

  return {
    name: 'baseline',
    relays: 1,
    source: 'polling',
    applicationName: relayApplicationName('baseline'),
    topic,
    writer: { system: 'baseline', schema, topic },
    writeBacklog: (payloads) => writer.writeBacklog(payloads),
    async startRelay() {
      started = true;
      await relay.start();
    },
    published: () => relay.published,
    get acked() {
      return acked.map;
    },
    get handed() {
      return handed.map;
    },
    async stopRelay() {
      if (started) await relay.stop();
      started = false;
    },
    async close() {
      if (started) await relay.stop().catch(() => {});
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await config.transport.remove(topic).catch(() => {});
      await Promise.all([admin.end(), relayPool.end()]);
    },
  };
}
