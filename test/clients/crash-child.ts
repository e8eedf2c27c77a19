/**
 * A consumer process on one client of the harness (CHILD_CLIENT names the fixture), on the
 * PostgreSQL transport. With CHILD_KILL_AFTER=N it SIGKILLs itself at the first acknowledgement
 * after N handled events: the handler's transaction has committed, the offset has not. On SIGTERM
 * it stops gracefully and prints its stats as one JSON line.
 */
import { z } from 'zod';
import { createConsumer, defineEvent, silentLogger } from '../../src/index.ts';
import { postgres } from '../../src/transports/postgres/index.ts';
import type { Subscription, Transport } from '../../src/transports/transport.ts';
import * as harness from './harness.ts';

const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};
const schema = env('HERALD_SCHEMA');
const killAfter = Number(process.env.CHILD_KILL_AFTER ?? 0);
const fixture = (harness as unknown as Record<string, harness.ClientFixture>)[env('CHILD_CLIENT')];
if (!fixture?.open) throw new Error(`no client fixture ${process.env.CHILD_CLIENT}`);
const client = await fixture.open(schema);
// A short lease: the killed member's partitions move to the restarted one within a second.
const base = postgres({ db: env('DATABASE_URL'), schema, pollIntervalMs: 20, leaseMs: 1_000 });

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
const consumer = createConsumer({
  transport,
  group: env('CHILD_GROUP'),
  db: client.db,
  schema,
  lagIntervalMs: 0,
  logger: silentLogger,
});
consumer.on(Step, async (event, { tx }) => {
  await client.insertEffect(tx, event.id, `${event.payload.key}/${event.payload.seq}`);
});
process.once('SIGTERM', () => {
  void consumer
    .stop()
    .then(() => base.close())
    .then(() => client.close())
    .then(() => {
      process.stdout.write(`${JSON.stringify(consumer.stats())}\n`);
      process.exit(0);
    });
});
await consumer.start();
