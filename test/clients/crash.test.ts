/**
 * Every client: SIGKILL between the handler's commit and the offset commit, then a restart. The
 * events handled before the crash come again and are skipped by the inbox row that committed with
 * the handler's write through the client: one effect per event, none lost.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { migrate } from '../../src/index.ts';
import { postgres } from '../../src/transports/postgres/index.ts';
import { eventMessage } from '../support/consumer.ts';
import { databaseUrl, uniqueName } from '../support/env.ts';
import { waitFor } from '../support/relay-process.ts';
import { effectsTable } from './harness.ts';

const clients = [
  'nodePostgres',
  'postgresJs',
  'kysely',
  'drizzleNodePostgres',
  'drizzlePostgresJs',
  'knex',
  'prisma',
  'typeorm',
  'mikroOrm',
  'sequelize',
];

function spawnConsumer(env: Record<string, string>) {
  const child = spawn(process.execPath, ['test/clients/crash-child.ts'], {
    env: { ...process.env, DATABASE_URL: databaseUrl, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

describe('every client: SIGKILL between the handler commit and the offset commit', () => {
  const schema = uniqueName('herald_crash');
  const admin = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  before(async () => {
    await migrate(admin, { schema });
    await admin.query(effectsTable(schema));
  });
  after(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });

  for (const name of clients) {
    it(`${name}: nothing lost, nothing applied twice after a restart`, async () => {
      const topic = uniqueName('crash');
      const total = 300;
      const transport = postgres({ db: admin, schema, partitions: 2 });
      try {
        await transport.publish(
          Array.from({ length: total }, (_, i) => {
            const key = `key-${i % 20}`;
            return eventMessage(topic, 'order.step', { key, seq: Math.floor(i / 20) }, { key });
          }),
        );
      } finally {
        await transport.close();
      }
      const env = { HERALD_SCHEMA: schema, CHILD_TOPIC: topic, CHILD_GROUP: uniqueName('g'), CHILD_CLIENT: name };
      const count = async () =>
        Number(
          (
            await admin.query(
              `SELECT count(*) AS n FROM "${schema}".effects e JOIN "${schema}".broker_messages m ON m.id = e.event_id WHERE m.topic = $1`,
              [topic],
            )
          ).rows[0].n,
        );

      const first = spawnConsumer({ ...env, CHILD_KILL_AFTER: '100' });
      const killed = await first.exited;
      assert.equal(killed.signal, 'SIGKILL', `the first consumer killed itself: ${first.stderr()}`);
      const handledBefore = await count();
      assert.ok(handledBefore >= 100 && handledBefore < total, `${handledBefore} effects before the restart`);

      const second = spawnConsumer(env);
      try {
        await waitFor('every effect', async () => (await count()) >= total, 60_000);
      } finally {
        second.child.kill('SIGTERM');
      }
      const stopped = await second.exited;
      assert.equal(stopped.code, 0, second.stderr());
      const stats = JSON.parse(second.stdout().trim().split('\n').pop() as string);
      assert.ok(stats.duplicates > 0, 'events handled before the crash were delivered again and skipped');
      const rows = await admin.query<{ n: string; distinct: string }>(
        `SELECT count(*) AS n, count(DISTINCT e.event_id) AS distinct FROM "${schema}".effects e
         JOIN "${schema}".broker_messages m ON m.id = e.event_id WHERE m.topic = $1`,
        [topic],
      );
      assert.equal(Number(rows.rows[0]?.n), total, 'one effect per event');
      assert.equal(Number(rows.rows[0]?.distinct), total);
    });
  }
});
