import { createRelay, type Relay, silentLogger } from '../../src/index.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { brokers, freshSchema, type TestSchema } from './env.ts';
import { createTopic } from './kafka.ts';

/** A migrated schema, a topic and a relay publishing to Kafka, for one test file. */
export interface RelayFixture {
  db: TestSchema;
  topic: string;
  relay: Relay;
  close(): Promise<void>;
}

export async function startRelayFixture(partitions = 3): Promise<RelayFixture> {
  const db = await freshSchema();
  const topic = await createTopic(partitions);
  const relay = createRelay({ db: db.pool, schema: db.schema, transport: kafka({ brokers }), logger: silentLogger });
  await relay.start();
  return {
    db,
    topic,
    relay,
    async close() {
      await relay.stop();
      await db.drop();
    },
  };
}
