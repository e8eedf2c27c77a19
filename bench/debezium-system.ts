// Debezium's outbox as teams deploy it, for `npm run bench -- relay --systems debezium`: an outbox
// table of Debezium's documented shape written in the application's transaction, the PostgreSQL
// connector (pgoutput) on Kafka Connect 4.1 in standalone mode, and the outbox event router
// (io.debezium.transforms.outbox.EventRouter) routing each row to the topic, keyed by the
// aggregate id, with the event id in a `ce_id` header. Connector settings are Debezium's
// defaults but for what the comparison needs (the slot, the table, the route) and one tuning for
// latency (poll.interval.ms 10); the producer is idempotent with acks=all, like Herald's.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { DEBEZIUM_VERSION, privateDebezium } from '../infra/debezium.mjs';
import { withTransaction } from '../src/store/connect.ts';
import type { BenchPayload } from './payload.ts';
import { progress } from './stats.ts';
import { type BenchSystem, backlogChunk, commitTimed, type SystemConfig, type Writer } from './system.ts';
import { uniqueName } from './topic.ts';

export { DEBEZIUM_VERSION };

/** The connector's max.batch.size, its default. */
export const debeziumBatch = 2048;
/** The connector's poll.interval.ms (its default is 500). */
export const debeziumPollMs = 10;

/** Debezium's outbox table, as its documentation gives it. */
export const debeziumTableSql = (s: string) => `CREATE SCHEMA ${s};
CREATE TABLE ${s}.outbox (
  id uuid PRIMARY KEY,
  aggregatetype varchar(255) NOT NULL,
  aggregateid varchar(255) NOT NULL,
  type varchar(255) NOT NULL,
  payload jsonb
)`;

/** The application side: one INSERT into the outbox table in the business transaction. */
export function debeziumWriter(pool: pg.Pool, schema: string): Writer {
  const s = `"${schema}"`;
  return {
    async writeBacklog(payloads: readonly BenchPayload[]) {
      const ids: string[] = [];
      for (let i = 0; i < payloads.length; i += backlogChunk) {
        const chunk = payloads.slice(i, i + backlogChunk);
        const chunkIds = chunk.map(() => randomUUID());
        await withTransaction(pool, (tx) =>
          tx.query(
            `INSERT INTO ${s}.outbox (id, aggregatetype, aggregateid, type, payload)
SELECT id, 'bench', key, 'bench.event', payload FROM unnest($1::uuid[], $2::text[], $3::jsonb[]) AS u(id, key, payload)`,
            [chunkIds, chunk.map((p) => p.key), chunk.map((p) => JSON.stringify(p))],
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
          await tx.query(
            `INSERT INTO ${s}.outbox (id, aggregatetype, aggregateid, type, payload) VALUES ($1, 'bench', $2, 'bench.event', $3)`,
            [id, payload.key, JSON.stringify(payload)],
          );
          ids.push(id);
        }
        return ids;
      });
    },
  };
}

/** The connector's settings for one run: its own slot, publication, table and topic. */
function connectorProps(url: URL, schema: string, slot: string, topic: string) {
  return {
    name: 'herald-bench-debezium',
    'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
    'tasks.max': 1,
    'database.hostname': url.hostname,
    'database.port': url.port || '5432',
    'database.user': decodeURIComponent(url.username || 'postgres'),
    ...(url.password ? { 'database.password': decodeURIComponent(url.password) } : {}),
    'database.dbname': url.pathname.slice(1) || 'postgres',
    'topic.prefix': 'herald_bench_dbz',
    'plugin.name': 'pgoutput',
    'slot.name': slot,
    'publication.name': slot,
    'publication.autocreate.mode': 'disabled',
    // The slot exists before the backlog is written: the connector streams it from there.
    'snapshot.mode': 'no_data',
    'table.include.list': `${schema}.outbox`,
    'tombstones.on.delete': 'false',
    // Tuned for latency: the connector hands a batch over after 10 ms without new changes instead
    // of its default 500 ms.
    'poll.interval.ms': debeziumPollMs,
    transforms: 'outbox',
    'transforms.outbox.type': 'io.debezium.transforms.outbox.EventRouter',
    'transforms.outbox.route.topic.replacement': topic,
    'transforms.outbox.table.fields.additional.placement': 'id:header:ce_id,type:header:ce_type',
  };
}

export async function debeziumSystem(config: SystemConfig): Promise<BenchSystem> {
  if (config.transport.name !== 'kafka') throw new Error('the Debezium system runs on Kafka only (--transport kafka)');
  const schema = uniqueName('herald_bench_dbz');
  const slot = schema; // slot and publication, one per run
  const topic = await config.transport.prepare('herald-bench-debezium');
  const admin = new pg.Pool({ connectionString: config.databaseUrl, max: 2 });
  admin.on('error', () => {});
  await admin.query(debeziumTableSql(`"${schema}"`));
  await admin.query(`CREATE PUBLICATION "${slot}" FOR TABLE "${schema}".outbox`);
  await admin.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
  const writer = debeziumWriter(admin, schema);
  const acked = new Map<string, number>();
  const counter = config.transport.create('herald-bench-debezium-counter');
  let connect: Awaited<ReturnType<typeof privateDebezium>> | undefined;
  let counting: Promise<void> | undefined;
  let subscription: Awaited<ReturnType<typeof counter.subscribe>> | undefined;

  const stop = async () => {
    // The worker's directory goes with it: its warnings and errors are shown first.
    if (connect) {
      const log = readFileSync(connect.paths.outLog, 'utf8').split('\n');
      const worth = log.filter((l) => / (WARN|ERROR) /.test(l));
      for (const line of worth.slice(0, 8)) progress(`debezium log: ${line.slice(0, 300)}`);
      if (worth.length > 8) progress(`debezium log: ${worth.length - 8} more warnings or errors`);
    }
    await connect?.destroy().catch(() => {});
    connect = undefined;
    await subscription?.close().catch(() => {});
    await counting?.catch(() => {});
    subscription = undefined;
    await counter.close().catch(() => {});
  };

  return {
    name: 'debezium',
    relays: 1,
    source: 'cdc',
    applicationName: 'Debezium',
    slot,
    slowStart: true,
    relayPid: () => connect?.pid() ?? null,
    topic,
    writer: { system: 'debezium', schema, topic },
    writeBacklog: (payloads) => writer.writeBacklog(payloads),
    async startRelay() {
      // What arrives on the topic is what the connector has published: a group of the bench's own
      // counts it (the broker's append times are read back at the end, as for every system).
      await counter.connect();
      subscription = await counter.subscribe({ group: uniqueName('herald-bench-dbz'), topics: [topic] });
      const sub = subscription;
      counting = (async () => {
        for await (const d of sub) {
          const id = d.headers.ce_id;
          if (id !== undefined && !acked.has(id)) acked.set(id, Date.now());
          await d.ack();
        }
      })();
      const started = Date.now();
      connect = await privateDebezium({
        bootstrap: config.brokers.join(','),
        connector: connectorProps(new URL(config.databaseUrl), schema, slot, topic),
        worker: { 'producer.acks': 'all', 'producer.enable.idempotence': 'true' },
      });
      progress(`debezium ${DEBEZIUM_VERSION}: connector running after ${Date.now() - started} ms (JVM start included)`);
    },
    published: () => acked.size,
    acked,
    stopRelay: stop,
    async close() {
      await stop();
      await admin.query('SELECT pg_drop_replication_slot($1)', [slot]).catch(() => {});
      await admin.query(`DROP PUBLICATION IF EXISTS "${slot}"`).catch(() => {});
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await config.transport.remove(topic).catch(() => {});
      await admin.end();
    },
  };
}
