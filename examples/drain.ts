// Publishing on demand: a cron job, a script or a test publishes what is committed and returns,
// with no relay left running (`herald relay --once` does the same from the shell).
//   DATABASE_URL=postgres://... KAFKA_BROKERS=127.0.0.1:9092 node examples/drain.ts
import { createOutbox, createRelay, defineEvent, listUnpublished, migrate } from 'herald';
import { kafka } from 'herald/kafka';
import pg from 'pg';
import { z } from 'zod';

const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const schema = `herald_examples_drain_${Date.now()}`;

const InvoiceIssued = defineEvent({
  type: 'billing.invoice.issued',
  version: 1,
  schema: z.object({ invoiceId: z.string(), cents: z.number().int() }),
  key: (p) => p.invoiceId,
  destination: 'billing.invoices',
});

const pool = new pg.Pool({ connectionString: databaseUrl });
await migrate(pool, { schema });
const client = await pool.connect();
try {
  await client.query('BEGIN');
  const outbox = createOutbox({ schema, source: '/billing' });
  await outbox.add(client, [
    InvoiceIssued({ invoiceId: 'inv-1', cents: 1200 }),
    InvoiceIssued({ invoiceId: 'inv-2', cents: 800 }),
  ]);
  await client.query('COMMIT');
} finally {
  client.release();
}

// #region drain
// What no relay has published yet, oldest first (here: the two invoices).
const pending = await listUnpublished({ db: pool, schema });
console.log(`unpublished: ${pending.map((e) => `${e.type} ${e.key}`).join(', ')}`);

// A relay that is not running is started, publishes what is committed, and stops again.
// On a running relay, drain() resolves once what was committed before the call is out.
const relay = createRelay({ db: pool, schema, transport: kafka({ brokers }) });
const { published } = await relay.drain();
console.log(`published ${published}; unpublished now: ${(await listUnpublished({ db: pool, schema })).length}`);
// #endregion drain

await pool.query(`DROP SCHEMA ${schema} CASCADE`);
await pool.end();
