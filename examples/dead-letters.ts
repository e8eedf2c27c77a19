// Dead letters from code: what the relay could not publish, why, and what to do with it.
//   DATABASE_URL=postgres://... KAFKA_BROKERS=127.0.0.1:9092 node examples/dead-letters.ts
import { createDeadLetters, migrate } from 'herald';
import { kafka } from 'herald/kafka';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' });
await migrate(pool, { schema: 'herald_examples' });
const transport = kafka({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',') });

// #region api
const deadLetters = createDeadLetters({ db: pool, schema: 'herald_examples', transport });

// Pending dead letters of one type that failed in the last day, oldest first.
const failed = await deadLetters.list({
  types: ['inventory.stock.reserved'],
  since: new Date(Date.now() - 86_400_000),
});
for (const event of failed) {
  console.log(
    `${event.id} ${event.type} key=${event.partitionKey}: ${event.error.code} after ${event.attempts} attempts`,
  );
}

// Once the cause is fixed: publish them again; each outcome is recorded on its row.
const results = failed.length > 0 ? await deadLetters.retry({ ids: failed.map((e) => e.id) }) : [];
console.log(`${results.filter((r) => r.ok).length} of ${results.length} published again`);
// #endregion api

await deadLetters.close();
await transport.close();
await pool.end();
