// What every client example shares: a schema of its own with Herald's tables and the example's
// (orders, shipments), a connection string whose search_path is that schema (every client below
// reads it), the event, and the PostgreSQL transport with a relay. `finish` starts the relay and
// the consumer, waits for the shipment, and prints what happened.
import { type Consumer, createRelay, defineEvent, migrate, silentLogger } from 'herald';
import { postgres } from 'herald/postgres';
import pg from 'pg';
import { z } from 'zod';

const base = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const schema = `herald_clients_${process.pid}`;
export const databaseUrl = `${base}${base.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;

const admin = new pg.Pool({ connectionString: base, max: 4 });
await migrate(admin, { schema });
await admin.query(`CREATE TABLE ${schema}.orders (id text PRIMARY KEY, total integer NOT NULL)`);
await admin.query(
  `CREATE TABLE ${schema}.shipments (order_id text PRIMARY KEY, shipped_at timestamptz NOT NULL DEFAULT now())`,
);

export const OrderPlaced = defineEvent({
  type: 'shop.order.placed',
  version: 1,
  destination: 'orders',
  schema: z.object({ orderId: z.string(), total: z.number().int().nonnegative() }),
  key: (p) => p.orderId,
});

export const transport = postgres({ db: admin, schema, pollIntervalMs: 20 });
const relay = createRelay({ db: admin, schema, transport, logger: silentLogger, pollIntervalMs: 20 });

export async function finish(client: string, consumer: Consumer<unknown>, close: () => Promise<void>): Promise<void> {
  await relay.start();
  await consumer.start();
  try {
    const deadline = Date.now() + 20_000;
    while (consumer.stats().handled < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  } finally {
    await consumer.stop();
    await relay.stop();
    await transport.close();
    await close();
  }
  const count = async (table: string) =>
    (await admin.query(`SELECT count(*)::int AS n FROM ${schema}.${table}`)).rows[0].n;
  console.log(
    `${client}: orders ${await count('orders')}, events ${await count('log')}, shipments ${await count('shipments')}`,
  );
  await admin.query(`DROP SCHEMA ${schema} CASCADE`);
  await admin.end();
}
