// Publishing a slice of the log again: a consumer mishandled yesterday's payments, its bug is
// fixed, and it needs them once more. No relay has to run for this.
//   DATABASE_URL=postgres://... KAFKA_BROKERS=127.0.0.1:9092 node examples/replay.ts
import { createOutbox, defineEvent, migrate, replayEvents } from 'herald';
import { kafka } from 'herald/kafka';
import pg from 'pg';
import { z } from 'zod';

const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const schema = 'herald_examples_replay';
const hour = 3_600_000;

const PaymentCaptured = defineEvent({
  type: 'billing.payment.captured',
  version: 1,
  schema: z.object({ paymentId: z.string(), accountId: z.string(), cents: z.number().int() }),
  key: (p) => p.accountId,
  destination: 'billing.payments',
});

const pool = new pg.Pool({ connectionString: databaseUrl });
await migrate(pool, { schema });
const outbox = createOutbox({ schema, source: '/billing' });

// Yesterday's payments of one account (the `time` option back-dates them, as if written then).
const accountId = `acct-${Date.now()}`;
const yesterday = Date.now() - 24 * hour;
const client = await pool.connect();
try {
  await client.query('BEGIN');
  for (let i = 0; i < 5; i++) {
    const payment = { paymentId: `pay-${i}`, accountId, cents: 100 * (i + 1) };
    await outbox.add(client, PaymentCaptured(payment, { time: new Date(yesterday + i * 60_000) }));
  }
  await client.query('COMMIT');
} finally {
  client.release();
}

// #region replay
const slice = {
  from: new Date(Date.now() - 25 * hour), // or parse `2h`, `7d` yourself; the CLI does
  to: new Date(Date.now() - 23 * hour), // exclusive; default now
  types: ['billing.payment.captured'],
  keys: [accountId], // optional, like types
};

// First, what would go out: counts per type and topic, first and last time; nothing is published.
const plan = await replayEvents({ db: pool, schema, ...slice, dryRun: true });
console.log(`would publish ${plan.matched} events: ${JSON.stringify(plan.byDestination)}`);

// Then publish them again, here to a topic of their own for the consumer being repaired.
const transport = kafka({ brokers, clientId: 'billing-replay' });
const result = await replayEvents({
  db: pool, // a pg Pool (left open) or a connection string (opened and closed)
  schema,
  transport, // left open: close it when done
  ...slice,
  destination: `billing.payments.replay.${Date.now()}`,
  onProgress: (done, total) => console.log(`  ${done}/${total}`),
});
await transport.close();
// Every message keeps its ce_id and carries `herald-replay: <result.replayId>`.
console.log(`replay ${result.replayId}: published ${result.published} of ${result.matched} events`);
// #endregion replay

await pool.end();
