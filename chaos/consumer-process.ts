// One consumer of the end-to-end chaos run (chaos/consumers.ts starts three, one group): applies
// every chaos.tick to chaos_effects through the inbox, and in the same transaction checks the
// key's order against chaos_last (the last n applied per key), recording an event that comes
// below it in chaos_order_violations. Prints its stats as a JSON line every second (and once more
// on SIGTERM, after a clean stop), so the run can sum what the inbox absorbed per process.
//   DATABASE_URL, KAFKA_BROKERS, HERALD_SCHEMA, CHAOS_TOPIC, CHAOS_GROUP, CHAOS_SESSION_MS
import { createConsumer, createLogger } from '../src/index.ts';
import { kafka } from '../src/transports/kafka/index.ts';
import { effectsSql } from './e2e-tables.ts';
import { ChaosTick } from './writers.ts';

const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};
const schema = env('HERALD_SCHEMA');
const consumer = createConsumer({
  transport: kafka({ brokers: env('KAFKA_BROKERS').split(','), sessionTimeoutMs: Number(env('CHAOS_SESSION_MS')) }),
  group: env('CHAOS_GROUP'),
  db: env('DATABASE_URL'),
  schema,
  topics: [env('CHAOS_TOPIC')],
  logger: createLogger({ level: 'warn' }),
  lagIntervalMs: 0,
  inboxRetentionDays: 0,
  // A database restart is an outage (retried without limit); this is for anything else.
  retry: { attempts: 1000, maxMs: 1000 },
});
const apply = effectsSql(schema);
consumer.on(ChaosTick, async (event, { tx }) => {
  await tx.query(apply, [event.id, event.payload.key, event.payload.n]);
});
const report = () => {
  const { handled, duplicates } = consumer.stats();
  process.stdout.write(`${JSON.stringify({ handled, duplicates })}\n`);
};
const timer = setInterval(report, 1000);
process.once('SIGTERM', () => {
  clearInterval(timer);
  void consumer.stop().then(() => {
    report();
    process.exit(0);
  });
});
await consumer.start();
