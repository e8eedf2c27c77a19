// Declaring events, writing them in a transaction, and what happens to bad input.
//   DATABASE_URL=postgres://... node examples/events.ts

import { createOutbox, defineEvent, isHeraldError, migrate } from 'herald';
import pg from 'pg';
import { z } from 'zod';

// #region define
export const StockReserved = defineEvent({
  type: 'inventory.stock.reserved',
  version: 1,
  schema: z.object({
    reservationId: z.string().uuid(),
    orderId: z.string(),
    items: z.array(z.object({ productId: z.string(), sku: z.string(), quantity: z.number().int().positive() })).min(1),
    expiresAt: z.string().datetime(),
  }),
  key: (p) => p.orderId, // every event of one order keeps its order
  aggregate: (p) => ({ type: 'reservation', id: p.reservationId }), // CloudEvents subject
  destination: 'inventory.stock', // optional: the relay's topic strategy otherwise
});
// #endregion define

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' });
await migrate(pool, { schema: 'herald_examples' });
const outbox = createOutbox({ schema: 'herald_examples', source: '/inventory-service' });

// #region write
const client = await pool.connect();
try {
  await client.query('BEGIN');
  // ... the business change, e.g. UPDATE stock SET reserved = reserved + $1 ...
  const event = StockReserved(
    {
      reservationId: '0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b',
      orderId: 'order-1001',
      items: [{ productId: 'p-1', sku: 'SKU-1', quantity: 2 }],
      expiresAt: new Date(Date.now() + 15 * 60_000).toISOString(),
    },
    {
      correlationId: 'order-1001', // links every event of this order
      causationId: '0193a3c4-0000-7000-8000-000000000001', // the order.created event we handled
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      userId: 'user-17', // who placed the order, and in which session
      sessionId: 'session-3f2a',
      tags: ['web', 'priority'],
      headers: { tenant: 'acme' },
    },
  );
  await outbox.add(client, event);
  await client.query('COMMIT'); // the event is published if, and only if, this commits
  console.log(`wrote ${event.type} ${event.id}`);
} catch (error) {
  await client.query('ROLLBACK');
  throw error;
} finally {
  client.release();
}
// #endregion write

// #region invalid
const tx = await pool.connect();
try {
  await tx.query('BEGIN');
  await outbox.add(tx, StockReserved({ reservationId: 'nope', orderId: 'o', items: [], expiresAt: 'soon' }));
  await tx.query('COMMIT');
} catch (error) {
  await tx.query('ROLLBACK');
  if (!isHeraldError(error, 'HERALD_INVALID_PAYLOAD')) throw error;
  // Nothing was written; every issue is listed with its path.
  console.log(`rejected: ${error.message}`);
} finally {
  tx.release();
}
// #endregion invalid

await pool.end();
