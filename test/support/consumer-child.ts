/**
 * A consumer process for crash tests. Reads CHILD_* settings from the environment; with
 * CHILD_KILL_AFTER=N it SIGKILLs itself at the first acknowledgement after N handled events: the
 * handler's transaction has committed, the offset has not. CHILD_OFFSETS=database keeps the
 * positions in the database instead of the inbox; CHILD_PIPELINE=1 runs group commit with pipeline
 * (its own pool, from the connection string, in pipeline mode). On SIGTERM it stops gracefully and
 * prints its stats as one JSON line.
 */
import { createConsumer } from '../../src/index.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { childEnv as env, killAtAck, stepEvent } from './kill-at-ack.ts';

const killAfter = Number(process.env.CHILD_KILL_AFTER ?? 0);
const base = kafka({ brokers: env('KAFKA_BROKERS'), sessionTimeoutMs: 6_000 });
const transport = killAtAck(base, killAfter, () => consumer.stats().handled);
const Step = stepEvent(env('CHILD_TOPIC'));
const effects = `"${env('HERALD_SCHEMA')}".effects`;
const consumer = createConsumer({
  transport,
  group: env('CHILD_GROUP'),
  db: env('DATABASE_URL'),
  schema: env('HERALD_SCHEMA'),
  offsets: process.env.CHILD_OFFSETS === 'database' ? 'database' : 'broker',
  groupCommit: { pipeline: process.env.CHILD_PIPELINE === '1' },
});
consumer.on(Step, async (event, { tx }) => {
  await tx.query(`INSERT INTO ${effects} (event_id, key, seq) VALUES ($1, $2, $3)`, [
    event.id,
    event.payload.key,
    event.payload.seq,
  ]);
});
process.once('SIGTERM', () => {
  void consumer.stop().then(() => {
    process.stdout.write(`${JSON.stringify(consumer.stats())}\n`);
    process.exit(0);
  });
});
await consumer.start();
