import { after } from 'node:test';
import { privatePostgres } from '../../../infra/postgres.mjs';
import { postgres } from '../../../src/transports/postgres/index.ts';
import { topicPartitions } from '../../../src/transports/postgres/sql.ts';
import { conformance } from '../../conformance/suite.ts';
import { databaseUrl, freshSchema, uniqueName } from '../../support/env.ts';

/**
 * The broker's tables in a schema of their own in the database at `url`, as a separate broker
 * database would be; the transport under test on them, and a way to make its topics.
 */
async function brokerOn(url: string) {
  const { schema, pool: admin, drop } = await freshSchema(url);
  return {
    schema,
    admin,
    drop,
    make: () =>
      postgres({
        db: url,
        schema,
        pollIntervalMs: 50,
        leaseMs: 3000,
        // PostgreSQL has no per-topic size limit to set: the transport's own limit stands in.
        maxMessageBytes: (topic: string) => (topic.startsWith('small_') ? 20_000 : 1_048_576),
      }),
    destination: async (partitions: number) => {
      const topic = uniqueName('topic');
      await topicPartitions(admin, schema, topic, partitions);
      return topic;
    },
  };
}

const shared = await brokerOn(databaseUrl);
after(() => shared.drop());

conformance({
  name: 'postgres',
  make: shared.make,
  destination: shared.destination,
  attributeName: (attribute) => `ce_${attribute}`,
  readRaw: async (topic, count) => {
    const result = await shared.admin.query<{ key: string; headers: Record<string, string>; value: Buffer }>(
      `SELECT key, headers, value FROM "${shared.schema}".broker_messages WHERE topic = $1 ORDER BY xid, seq LIMIT $2`,
      [topic, count],
    );
    return result.rows.map((r) => ({ key: r.key, headers: r.headers, body: r.value.toString('utf8') }));
  },
  // A cluster of its own (infra/postgres.mjs): the broker, and the database of the test's outbox
  // and inbox, stopped with a fast shutdown (pg_ctl stop -m fast) and started again.
  privateBroker: async () => {
    const cluster = await privatePostgres();
    const broker = await brokerOn(cluster.url);
    return {
      make: broker.make,
      destination: broker.destination,
      databaseUrl: cluster.url,
      stopBroker: async () => {
        await cluster.stop({ mode: 'fast' });
      },
      startBroker: async () => {
        await cluster.start();
      },
      destroy: async () => {
        await broker.admin.end();
        await cluster.destroy();
      },
    };
  },
  oversized: async () => ({ destination: uniqueName('small'), bytes: 20_000 }),
});
