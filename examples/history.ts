// An entity's history from the log: an account's balance rebuilt from its events (seed 003),
// read a page at a time. `herald events --aggregate account/<id>` prints the same from the shell.
//   DATABASE_URL=postgres://... node examples/history.ts
import { createOutbox, defineEvent, migrate, readStream, withTransaction } from 'herald';
import pg from 'pg';
import { z } from 'zod';

const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `herald_examples_history_${Date.now()}`;

const account = (p: { accountId: string }) => ({ type: 'account', id: p.accountId });
const Deposited = defineEvent({
  type: 'bank.account.deposited',
  version: 1,
  schema: z.object({ accountId: z.string(), cents: z.number().int().positive() }),
  key: (p) => p.accountId,
  aggregate: account,
});
const Withdrawn = defineEvent({
  type: 'bank.account.withdrawn',
  version: 1,
  schema: z.object({ accountId: z.string(), cents: z.number().int().positive() }),
  key: (p) => p.accountId,
  aggregate: account,
});

const pool = new pg.Pool({ connectionString: databaseUrl });
await migrate(pool, { schema });
const outbox = createOutbox({ schema, source: '/bank' });
// Three transactions, two accounts.
await withTransaction(pool, (tx) =>
  outbox.add(tx, [Deposited({ accountId: 'acc-1', cents: 10_000 }), Withdrawn({ accountId: 'acc-1', cents: 2_500 })]),
);
await withTransaction(pool, (tx) => outbox.add(tx, Deposited({ accountId: 'acc-2', cents: 700 })));
await withTransaction(pool, (tx) =>
  outbox.add(tx, [Deposited({ accountId: 'acc-1', cents: 125 }), Withdrawn({ accountId: 'acc-1', cents: 5_000 })]),
);

// #region history
// Rebuild acc-1's balance from its history, two events a page (100 by default).
let balance = 0;
let seen = 0;
let after: string | undefined;
do {
  const page = await readStream(
    { aggregateType: 'account', aggregateId: 'acc-1' },
    { db: pool, schema, after, limit: 2 },
  );
  for (const event of page.events) {
    const { cents } = event.payload as { cents: number };
    balance += event.type === 'bank.account.deposited' ? cents : -cents;
    seen++;
  }
  after = page.next ?? undefined;
} while (after !== undefined);
console.log(`acc-1: ${seen} events, balance ${balance} cents`);
// #endregion history

await pool.query(`DROP SCHEMA ${schema} CASCADE`);
await pool.end();
