/**
 * A consumer process for crash tests. Reads CHILD_* settings from the environment; with
 * CHILD_KILL_AFTER=N it SIGKILLs itself at the first acknowledgement after N handled events: the
 * handler's transaction has committed, the offset has not. CHILD_OFFSETS=database keeps the
 * positions in the database instead of the inbox. On SIGTERM it stops gracefully and
 * prints its stats as one JSON line.
 */
import { z } from 'zod';
import { createConsumer, defineEvent } from '../../src/index.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import type { Subscription, Transport } from '../../src/transports/transport.ts';

const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};
const killAfter = Number(process.env.CHILD_KILL_AFTER ?? 0);
const base = kafka({ brokers: env('KAFKA_BROKERS'), sessionTimeoutMs: 6_000 });

// The test's own wrapper around the transport port: it watches acknowledgements.
const transport: Transport = {
  ...base,
  async subscribe(options) {
    const inner = (await base.subscribe?.(options)) as Subscription;
    return {
      close: () => inner.close(),
      lag: () => inner.lag(),
      async *[Symbol.asyncIterator]() {
        for await (const d of inner) {
          yield {
            ...d,
            ack: async () => {
              if (killAfter > 0 && consumer.stats().handled >= killAfter) process.kill(process.pid, 'SIGKILL');
              return d.ack();
            },
          };
        }
      },
    };
  },
};

const Step = defineEvent({
  type: 'order.step',
  version: 1,
  destination: env('CHILD_TOPIC'),
  schema: z.object({ key: z.string(), seq: z.number().int() }),
  key: (p) => p.key,
});
const effects = `"${env('HERALD_SCHEMA')}".effects`;
const consumer = createConsumer({
  transport,
  group: env('CHILD_GROUP'),
  db: env('DATABASE_URL'),
  schema: env('HERALD_SCHEMA'),
  offsets: process.env.CHILD_OFFSETS === 'database' ? 'database' : 'broker',
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
