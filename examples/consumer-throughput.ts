// Ways a consumer keeps "once in effect" with fewer commits: group commit (the default),
// several handlers of one event type in one transaction, positions kept in the database instead
// of inbox rows, and group commit with pipeline (a group's handlers side by side). Each group
// below reads the same 200 stock movements.
//   DATABASE_URL=postgres://... KAFKA_BROKERS=127.0.0.1:9092 node examples/consumer-throughput.ts
import { createConsumer, createOutbox, createRelay, defineEvent, migrate, type Queryable, silentLogger } from 'herald';
import { kafka } from 'herald/kafka';
import pg from 'pg';
import { z } from 'zod';

const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const pool = new pg.Pool({ connectionString: url });
const schema = `herald_throughput_example_${process.pid}`;
await migrate(pool, { schema });
await pool.query(
  `CREATE TABLE ${schema}.stock (grp text, sku text, quantity integer NOT NULL, PRIMARY KEY (grp, sku))`,
);
await pool.query(`CREATE TABLE ${schema}.ledger (grp text, event_id text, sku text, quantity integer NOT NULL)`);
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const transport = kafka({ brokers });

const StockMoved = defineEvent({
  type: 'inventory.stock.moved',
  version: 1,
  destination: `stock-moves-${process.pid}`,
  schema: z.object({ sku: z.string(), quantity: z.number().int() }),
  key: (p) => p.sku,
});

// 200 movements over 20 skus, committed with their events and published.
const outbox = createOutbox({ schema, source: '/warehouse' });
const events = Array.from({ length: 200 }, (_, i) => StockMoved({ sku: `sku-${i % 20}`, quantity: 1 + (i % 3) }));
await outbox.add(pool, events);
await createRelay({ db: pool, schema, transport, logger: silentLogger }).drain();

const moveStock = (grp: string) => async (event: { payload: { sku: string; quantity: number } }, tx: Queryable) => {
  await tx.query(
    `INSERT INTO ${schema}.stock VALUES ($1, $2, $3)
     ON CONFLICT (grp, sku) DO UPDATE SET quantity = stock.quantity + EXCLUDED.quantity`,
    [grp, event.payload.sku, event.payload.quantity],
  );
};
const common = { transport, db: pool, schema, logger: silentLogger };

// #region group-commit
// The default: up to 64 ready events per transaction (a key's waiting events go as a run, in order).
const grouped = createConsumer({ ...common, group: 'stock', groupCommit: { maxEvents: 64 } });
grouped.on(StockMoved, async (event, { tx }) => moveStock('stock')(event, tx));
// #endregion group-commit

// #region handlers
// Two handlers of one type: in this order, in one transaction, each with its own inbox row.
const twoHandlers = createConsumer({ ...common, group: 'books' });
twoHandlers.on(StockMoved, async (event, { tx }) => moveStock('books')(event, tx));
twoHandlers.on(
  StockMoved,
  async (event, { tx }) => {
    await tx.query(`INSERT INTO ${schema}.ledger VALUES ('books', $1, $2, $3)`, [
      event.id,
      event.payload.sku,
      event.payload.quantity,
    ]);
  },
  { name: 'ledger' }, // its inbox rows are kept under this name: keep it stable
);
// #endregion handlers

// #region offsets
// Positions in the handler's transaction (table consumer_offsets): no inbox rows at all.
const positioned = createConsumer({ ...common, group: 'stock-positions', offsets: 'database' });
positioned.on(StockMoved, async (event, { tx }) => moveStock('stock-positions')(event, tx));
// #endregion offsets

// #region pipeline
// A group's handlers side by side: their statements reach PostgreSQL together. Each statement here
// is whole in itself (an upsert that adds), so handlers of one group need no isolation from each other.
const pipelinedPool = new pg.Pool({ connectionString: url, pipeline: true });
const pipelined = createConsumer({ ...common, db: pipelinedPool, group: 'pipelined', groupCommit: { pipeline: true } });
pipelined.on(StockMoved, async (event, { tx }) => moveStock('pipelined')(event, tx));
// #endregion pipeline

const consumers = [grouped, twoHandlers, positioned, pipelined];
await Promise.all(consumers.map((c) => c.start()));
while (consumers.some((c) => c.stats().handled < 200)) await new Promise((r) => setTimeout(r, 50));
await Promise.all(consumers.map((c) => c.stop()));

const total = async (sql: string) => Number((await pool.query(sql)).rows[0].n);
const expected = events.reduce((sum, e) => sum + e.payload.quantity, 0);
for (const grp of ['stock', 'books', 'stock-positions', 'pipelined']) {
  const moved = await total(`SELECT sum(quantity) AS n FROM ${schema}.stock WHERE grp = '${grp}'`);
  const inbox = await total(`SELECT count(*) AS n FROM ${schema}.inbox WHERE consumer_group LIKE '${grp}%'`);
  console.log(`${grp}: moved ${moved} of ${expected}, inbox rows ${inbox}`);
}
console.log(`ledger rows ${await total(`SELECT count(*) AS n FROM ${schema}.ledger`)}`);

await transport.close();
await pool.query(`DROP SCHEMA ${schema} CASCADE`);
await Promise.all([pool.end(), pipelinedPool.end()]);
