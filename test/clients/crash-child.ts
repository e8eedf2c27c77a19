/**
 * A consumer process on one client of the harness (CHILD_CLIENT names the fixture), on the
 * PostgreSQL transport. With CHILD_KILL_AFTER=N it SIGKILLs itself at the first acknowledgement
 * after N handled events: the handler's transaction has committed, the offset has not. On SIGTERM
 * it stops gracefully and prints its stats as one JSON line.
 */
import { createConsumer, silentLogger } from '../../src/index.ts';
import { postgres } from '../../src/transports/postgres/index.ts';
import { childEnv as env, killAtAck, stepEvent } from '../support/kill-at-ack.ts';
import * as harness from './harness.ts';

const schema = env('HERALD_SCHEMA');
const killAfter = Number(process.env.CHILD_KILL_AFTER ?? 0);
const fixture = (harness as unknown as Record<string, harness.ClientFixture>)[env('CHILD_CLIENT')];
if (!fixture?.open) throw new Error(`no client fixture ${process.env.CHILD_CLIENT}`);
const client = await fixture.open(schema);
// A short lease: the killed member's partitions move to the restarted one within a second.
const base = postgres({ db: env('DATABASE_URL'), schema, pollIntervalMs: 20, leaseMs: 1_000 });

const transport = killAtAck(base, killAfter, () => consumer.stats().handled);
const Step = stepEvent(env('CHILD_TOPIC'));
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
