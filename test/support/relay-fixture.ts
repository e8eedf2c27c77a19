import { createRelay, type Relay, silentLogger } from '../../src/index.ts';
import { slotInfo } from '../../src/store/replication.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { brokers, freshSchema, type TestSchema } from './env.ts';
import { createTopic } from './kafka.ts';
import { waitFor } from './relay-process.ts';
import { databaseFor, type Source } from './sources.ts';

/** A migrated schema, a topic and a relay publishing to Kafka, for one test file. */
export interface RelayFixture {
  db: TestSchema;
  topic: string;
  relay: Relay;
  close(): Promise<void>;
}

/** With `source: 'cdc'`, on a private logical cluster, and streaming before it returns. */
export async function startRelayFixture(partitions = 3, source: Source = 'polling'): Promise<RelayFixture> {
  const database = await databaseFor(source);
  const db = await freshSchema(database.url);
  const topic = await createTopic(partitions);
  const relay = createRelay({
    db: db.pool,
    schema: db.schema,
    transport: kafka({ brokers }),
    logger: silentLogger,
    source,
  });
  await relay.start();
  if (source === 'cdc') await waitFor('streaming', async () => (await slotInfo(db.pool, db.schema))?.active === true);
  return {
    db,
    topic,
    relay,
    async close() {
      await relay.stop();
      await db.drop();
      await database.close();
    },
  };
}
