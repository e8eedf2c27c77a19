import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { after } from 'node:test';
import pg from 'pg';
import { migrate } from '../src/store/migrate.ts';
import { postgres } from '../src/transports/postgres/index.ts';
import { topicPartitions } from '../src/transports/postgres/sql.ts';
import { conformance } from './conformance/suite.ts';
import { databaseUrl, uniqueName } from './support/env.ts';
import { waitFor } from './support/relay-process.ts';

// The broker's tables live in a schema of their own, as a separate broker database would.
const broker = uniqueName('herald_broker');
const admin = new pg.Pool({ connectionString: databaseUrl, max: 2 });
admin.on('error', () => {});
await migrate(admin, { schema: broker });
after(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS "${broker}" CASCADE`);
  await admin.end();
});

const cluster = (action: 'stop' | 'start') =>
  execFileSync('pg_ctlcluster', [
    '--skip-systemctl-redirect',
    readdirSync('/etc/postgresql')[0] as string,
    'main',
    action,
    ...(action === 'stop' ? ['--mode', 'fast'] : []),
  ]);

conformance({
  name: 'postgres',
  make: () =>
    postgres({
      db: databaseUrl,
      schema: broker,
      pollIntervalMs: 50,
      leaseMs: 3000,
      // PostgreSQL has no per-topic size limit to set: the transport's own limit stands in.
      maxMessageBytes: (topic) => (topic.startsWith('small_') ? 20_000 : 1_048_576),
    }),
  destination: async (partitions) => {
    const topic = uniqueName('topic');
    await topicPartitions(admin, broker, topic, partitions);
    return topic;
  },
  attributeName: (attribute) => `ce_${attribute}`,
  readRaw: async (topic, count) => {
    const result = await admin.query<{ key: string; headers: Record<string, string>; value: Buffer }>(
      `SELECT key, headers, value FROM "${broker}".broker_messages WHERE topic = $1 ORDER BY xid, seq LIMIT $2`,
      [topic, count],
    );
    return result.rows.map((r) => ({ key: r.key, headers: r.headers, body: r.value.toString('utf8') }));
  },
  stopBroker: async () => {
    cluster('stop');
  },
  startBroker: async () => {
    cluster('start');
    await waitFor(
      'PostgreSQL to accept connections',
      async () => {
        try {
          await admin.query('SELECT 1');
          return true;
        } catch {
          return false;
        }
      },
      60_000,
    );
  },
  oversized: async () => ({ destination: uniqueName('small'), bytes: 20_000 }),
});
