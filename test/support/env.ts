import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { withTransaction } from '../../src/store/connect.ts';
import type { Queryable } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';

export const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/**
 * A migrated schema of its own for one test file, and a pool; `drop()` removes both. In the shared
 * database unless `url` names another (a private cluster of infra/postgres.mjs).
 */
export async function freshSchema(
  url = databaseUrl,
): Promise<{ schema: string; pool: pg.Pool; drop(): Promise<void> }> {
  const schema = uniqueName('herald_t');
  const pool = new pg.Pool({ connectionString: url, max: 8 });
  pool.on('error', () => {});
  await migrate(pool, { schema });
  return {
    schema,
    pool,
    async drop() {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    },
  };
}

/** Runs `fn` in a transaction on one client of the pool (Herald's withTransaction, typed for pg). */
export const inTransaction = <T>(pool: pg.Pool, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> =>
  withTransaction(pool, fn as unknown as (tx: Queryable) => Promise<T>);

export type TestSchema = Awaited<ReturnType<typeof freshSchema>>;
