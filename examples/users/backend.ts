// Where the users API keeps its data and publishes its events: PostgreSQL and Kafka when
// DATABASE_URL and KAFKA_BROKERS are set, otherwise the embedded default (PGlite on disk and
// PostgreSQL as the broker, in this process).
import { mkdirSync } from 'node:fs';
import { migrate, type PoolLike, type Transport } from 'herald';
import { kafka } from 'herald/kafka';
import { pglite } from 'herald/pglite';
import { postgres } from 'herald/postgres';
import pg from 'pg';

/** A pool as pg and herald/pglite give it, closed at shutdown. */
export interface Db extends PoolLike {
  end(): Promise<void>;
}

export interface Backend {
  kind: 'postgres+kafka' | 'embedded';
  db: Db;
  transport: Transport;
  schema: string;
}

export async function openBackend(): Promise<Backend> {
  const schema = process.env.USERS_SCHEMA ?? 'herald_users';
  const { DATABASE_URL, KAFKA_BROKERS } = process.env;
  let backend: Backend;
  if (DATABASE_URL && KAFKA_BROKERS) {
    const pool = new pg.Pool({ connectionString: DATABASE_URL });
    pool.on('error', () => {}); // an idle connection the server drops; the next query reconnects
    backend = { kind: 'postgres+kafka', db: pool, transport: kafka({ brokers: KAFKA_BROKERS }), schema };
  } else {
    const dataDir = process.env.HERALD_DATA_DIR ?? '.data/users';
    mkdirSync(dataDir, { recursive: true }); // PGlite makes the directory, not its parents
    const db = await pglite({ dataDir });
    backend = { kind: 'embedded', db, transport: postgres({ db, schema }), schema };
  }
  await migrate(backend.db, { schema });
  await backend.db.query(`
    CREATE TABLE IF NOT EXISTS "${schema}".users (
      id uuid PRIMARY KEY,
      email text NOT NULL UNIQUE,
      name text NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`);
  return backend;
}
