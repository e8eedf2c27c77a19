import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../../src/store/migrate.ts';

export const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** A migrated schema of its own for one test file, and a pool; `drop()` removes both. */
export async function freshSchema(): Promise<{ schema: string; pool: pg.Pool; drop(): Promise<void> }> {
  const schema = uniqueName('herald_t');
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 8 });
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

/** Runs `fn` in a transaction on one client of the pool. */
export async function inTransaction<T>(pool: pg.Pool, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A connection the server drops between two queries emits 'error' on the checked-out client.
  const onError = () => {};
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    client.release();
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    // Destroy rather than return a connection that may be broken.
    client.release(error instanceof Error ? error : true);
    throw error;
  } finally {
    client.off('error', onError);
  }
}

export type TestSchema = Awaited<ReturnType<typeof freshSchema>>;
