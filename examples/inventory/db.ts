// The database and broker of a run: PGlite in-process and PostgreSQL as the broker (the embedded
// default, no server), or real PostgreSQL and Kafka when DATABASE_URL and KAFKA_BROKERS are set.
import { type Consumer, createConsumer, type PoolLike as HeraldPool, type Transport } from 'herald';
import pg from 'pg';

/** A pool as pg and herald/pglite give it, which the demo closes at the end. */
export interface PoolLike extends HeraldPool {
  end(): Promise<void>;
}

/** Where a service's consumer group reads, and where its inbox is. */
export interface GroupSettings {
  db: PoolLike;
  schema: string;
  transport: Transport;
  group: string;
  topics: string[];
}

/** A consumer of one service: its group, its topics, its schema's inbox and outbox. */
export const serviceConsumer = (o: GroupSettings, source: string): Consumer =>
  createConsumer({ transport: o.transport, group: o.group, db: o.db, schema: o.schema, topics: o.topics, source });

export interface Stack {
  db: PoolLike;
  /** A transport for the relays and consumers; `close()` when done. */
  transport: Transport;
  /** One line for the terminal: where things run. */
  describe: string;
  embedded: boolean;
}

export async function openStack(env: NodeJS.ProcessEnv, brokerSchema: string): Promise<Stack> {
  if (env.DATABASE_URL && env.KAFKA_BROKERS) {
    const { kafka } = await import('herald/kafka');
    const db = new pg.Pool({ connectionString: env.DATABASE_URL, max: 20 });
    db.on('error', () => {});
    const brokers = env.KAFKA_BROKERS.split(',');
    return {
      db,
      transport: kafka({ brokers, clientId: 'inventory-demo' }),
      describe: `PostgreSQL (${new URL(env.DATABASE_URL).host}) and Kafka (${brokers.join(',')})`,
      embedded: false,
    };
  }
  const { pglite } = await import('herald/pglite');
  const { postgres } = await import('herald/postgres');
  const db = await pglite(env.HERALD_DATA_DIR ? { dataDir: env.HERALD_DATA_DIR } : {});
  return {
    db,
    transport: postgres({ db, schema: brokerSchema, partitions: 4, pollIntervalMs: 50 }),
    describe: 'embedded: PGlite in this process, PostgreSQL tables as the broker (no server)',
    embedded: true,
  };
}
