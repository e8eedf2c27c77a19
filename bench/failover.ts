// Failover: two `herald relay` processes share a schema; one is SIGKILLed; events written right
// after the kill are timed until every one of them is published (its shard's cursor passed it),
// which needs the dead relay's shards leased again. Same database and broker as the rest.
import { type ChildProcess, spawn } from 'node:child_process';
import pg from 'pg';
import { z } from 'zod';
import { createOutbox, defineEvent, migrate } from '../src/index.ts';
import { createTopic, deleteTopics, uniqueName } from './topic.ts';

export interface FailoverResult {
  failoverSeconds: number;
  leaseMs: number;
}

const Probe = defineEvent({
  type: 'bench.failover',
  version: 1,
  schema: z.object({ n: z.number() }),
  key: (p) => `f${p.n}`,
});

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`failover: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function measureFailover(
  env: { databaseUrl: string; brokers: string[] },
  leaseMs = 5000,
): Promise<FailoverResult> {
  const schema = uniqueName('herald_bench_fo');
  const topic = await createTopic(env.brokers, 'herald-bench-failover', 6);
  const pool = new pg.Pool({ connectionString: env.databaseUrl, max: 2 });
  pool.on('error', () => {});
  const relays: ChildProcess[] = [];
  try {
    await migrate(pool, { schema });
    const outbox = createOutbox({ schema });
    const spawnRelay = () =>
      spawn(process.execPath, ['src/cli/main.ts', 'relay'], {
        env: {
          ...process.env,
          DATABASE_URL: env.databaseUrl,
          KAFKA_BROKERS: env.brokers.join(','),
          HERALD_SCHEMA: schema,
          HERALD_LEASE_MS: String(leaseMs),
          HERALD_LOG_LEVEL: 'warn',
        },
        stdio: 'ignore',
      });
    relays.push(spawnRelay(), spawnRelay());
    const q = async (sql: string) => (await pool.query<{ n: number }>(sql)).rows[0]?.n ?? 0;
    const owners = () =>
      q(
        `SELECT count(DISTINCT owner)::int AS n FROM "${schema}".leases WHERE expires_at > now() AND owner IS NOT NULL`,
      );
    const backlog = () =>
      q(`SELECT count(*)::int AS n FROM "${schema}".log l LEFT JOIN "${schema}".cursors c ON c.shard = l.shard
         WHERE c.shard IS NULL OR (l.xid, l.seq) > (c.xid, c.seq)`);
    const write = async (from: number) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await outbox.add(
          client,
          Array.from({ length: 256 }, (_, i) => Probe({ n: from + i }, { destination: topic })),
        );
        await client.query('COMMIT');
      } finally {
        client.release();
      }
    };
    await until('two relays sharing the shards', async () => (await owners()) === 2);
    await write(0);
    await until('the warm-up events', async () => (await backlog()) === 0);

    relays[0]?.kill('SIGKILL');
    const killedAt = Date.now();
    await write(1000); // 256 keys: every shard of the dead relay gets events, with near certainty
    await until('the events after the kill', async () => (await backlog()) === 0, leaseMs * 6);
    return { failoverSeconds: Math.round(Date.now() - killedAt) / 1000, leaseMs };
  } finally {
    for (const r of relays) r.kill('SIGKILL');
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await pool.end();
    await deleteTopics(env.brokers, [topic]).catch(() => {});
  }
}
