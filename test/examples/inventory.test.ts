// The inventory example on PostgreSQL and Kafka: a stream of orders settles and the books balance;
// one order's events form one chain; a late payment is compensated; the books catch damage.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createOutbox } from 'herald';
import { audit, waitUntilSettled } from '../../examples/inventory/demo/books.ts';
import { nextOrder, random } from '../../examples/inventory/demo/scenario.ts';
import { inStockTransaction } from '../../examples/inventory/inventory/context.ts';
import { rebuildLedger } from '../../examples/inventory/inventory/ledger.ts';
import { adjust } from '../../examples/inventory/inventory/movements.ts';
import { releaseIfExpired } from '../../examples/inventory/inventory/reservations.ts';
import { inventoryFixture } from '../support/inventory.ts';
import { waitFor } from '../support/relay-process.ts';

describe('inventory example: orders and the books', () => {
  const f = inventoryFixture();
  it('a stream of orders settles, and the books balance', async () => {
    const rand = random(7);
    const placed: Promise<string>[] = [];
    for (let i = 0; i < 120; i++) placed.push(f.system.orders.place(nextOrder(rand, i)));
    await Promise.all(placed);
    assert.equal(await waitUntilSettled(f.stack.db, f.system, 60_000), true, 'every order settles');
    const books = await audit(f.stack.db, f.system);
    assert.deepEqual(books.findings, []);
    assert.equal(books.lost, 0);
    assert.equal(books.appliedTwice, 0);
    assert.equal(books.oversold, 0);
    assert.equal(books.stockConserved, true);
    assert.equal(books.unsettledOrders, 0);
    // The scenario's kinds of orders all happened: paid, declined (compensated), cancelled,
    // abandoned (expired), too large (rejected).
    // Late payers got their goods from what was left, or were refunded; those refused at once
    // were REJECTED like anyone else (the late paths themselves: the compensation test).
    const late = await f.stack.db.query<{ status: string; reason: string | null }>(
      `SELECT status, reason FROM ${f.system.schemas.orders}.orders WHERE plan = 'late'`,
    );
    assert.ok(
      late.rows.every((r) => ['COMPLETED', 'CANCELLED', 'REJECTED'].includes(r.status)),
      JSON.stringify(late.rows),
    );
    for (const status of ['COMPLETED', 'CANCELLED', 'EXPIRED', 'REJECTED']) {
      assert.ok(
        (books.ordersByStatus[status] ?? 0) > 0,
        `some orders end ${status}: ${JSON.stringify(books.ordersByStatus)}`,
      );
    }
    for (const type of [
      'inventory.stock.reserved',
      'inventory.stock.reservation_failed',
      'inventory.stock.released',
      'inventory.stock.decremented',
      'inventory.stock.movement_recorded',
      'payment.failed',
    ]) {
      assert.ok((books.eventsByType[type] ?? 0) > 0, `some ${type}`);
    }
  });

  it('links every event of an order by its correlation id, each caused by the one before', async () => {
    const s = f.system.schemas;
    const [order] = (
      await f.stack.db.query<{ id: string }>(
        `SELECT id FROM ${s.orders}.orders WHERE status = 'COMPLETED' AND plan = 'pay' LIMIT 1`,
      )
    ).rows;
    assert.ok(order);
    const { rows } = await f.stack.db.query<{ id: string; type: string; causation_id: string | null }>(
      `SELECT id::text, type, causation_id FROM (
         SELECT id, type, causation_id, correlation_id, created_at FROM ${s.orders}.log UNION ALL
         SELECT id, type, causation_id, correlation_id, created_at FROM ${s.inventory}.log UNION ALL
         SELECT id, type, causation_id, correlation_id, created_at FROM ${s.payments}.log) e
        WHERE correlation_id = $1 ORDER BY created_at`,
      [order.id],
    );
    const byType = new Map(rows.map((r) => [r.type, r]));
    const chain = [
      'order.created',
      'inventory.stock.reserved',
      'payment.requested',
      'payment.charged',
      'order.fulfilled',
      'inventory.stock.decremented',
    ];
    for (const type of chain) assert.ok(byType.has(type), `${type} carries the order's correlation id`);
    for (let i = 1; i < chain.length; i++) {
      assert.equal(
        byType.get(chain[i] as string)?.causation_id,
        byType.get(chain[i - 1] as string)?.id,
        `${chain[i]} is caused by ${chain[i - 1]}`,
      );
    }
  });

  it('compensates an order paid after its reservation expired when the goods are gone: cancelled, refunded', async () => {
    await f.api('POST', '/products', { id: 'p-last', sku: 'LAST-1', name: 'The last two', unitPriceCents: 500 });
    await f.api('POST', '/stock/replenish', { warehouseId: 'wh-east', items: [{ productId: 'p-last', quantity: 2 }] });
    const item = { productId: 'p-last', sku: 'LAST-1', quantity: 2, unitPriceCents: 500 };
    const orderId = await f.system.orders.place({ customerId: 'late-1', items: [item], plan: 'late' });
    const s = f.system.schemas;
    const statusOf = async () =>
      (
        await f.stack.db.query<{ status: string; reason: string | null }>(
          `SELECT status, reason FROM ${s.orders}.orders WHERE id = $1`,
          [orderId],
        )
      ).rows[0];
    const deadline = Date.now() + 30_000;
    while ((await statusOf())?.status !== 'AWAITING_PAYMENT' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    // Time passes: the expiry job releases the reservation, and in the same moment the two are
    // found damaged. The customer then pays.
    const [reservation] = (
      await f.stack.db.query<{ id: string }>(
        `UPDATE ${s.inventory}.reservations SET expires_at = now() WHERE order_id = $1 RETURNING id`,
        [orderId],
      )
    ).rows;
    const outbox = createOutbox({ schema: s.inventory });
    await inStockTransaction(f.stack.db, { schema: s.inventory, performedBy: 'test' }, outbox, async (ctx) => {
      assert.equal(await releaseIfExpired(ctx, reservation?.id as string), true);
      await adjust(ctx, { productId: 'p-last', warehouseId: 'wh-east', quantity: -2, reason: 'damaged' });
    });
    assert.equal(await waitUntilSettled(f.stack.db, f.system, 60_000), true);
    assert.deepEqual(await statusOf(), {
      status: 'CANCELLED',
      reason: 'paid, then the reservation expired and the stock is gone: refunded',
    });
    const payments = await f.stack.db.query(`SELECT status FROM ${s.payments}.payments WHERE order_id = $1`, [orderId]);
    assert.deepEqual(payments.rows, [{ status: 'REFUNDED' }]);
    const refunded = await f.stack.db.query(
      `SELECT 1 FROM ${s.payments}.log WHERE type = 'payment.refunded' AND payload->>'orderId' = $1`,
      [orderId],
    );
    assert.equal(refunded.rowCount, 1);
    const letters = await f.stack.db.query(`SELECT 1 FROM ${s.inventory}.consumer_dead_letters`);
    assert.equal(letters.rowCount, 0, 'nothing for an operator to pick up');
    assert.deepEqual((await audit(f.stack.db, f.system)).findings, []);

    // The same, with the goods still there: taken from what is available, and the order completes.
    await f.api('POST', '/stock/replenish', { warehouseId: 'wh-east', items: [{ productId: 'p-last', quantity: 5 }] });
    const lucky = await f.system.orders.place({ customerId: 'late-2', items: [item], plan: 'late' });
    const luckyStatus = async () =>
      (
        await f.stack.db.query<{ status: string; reason: string | null }>(
          `SELECT status, reason FROM ${s.orders}.orders WHERE id = $1`,
          [lucky],
        )
      ).rows[0];
    while ((await luckyStatus())?.status !== 'AWAITING_PAYMENT' && Date.now() < deadline + 30_000)
      await new Promise((r) => setTimeout(r, 50));
    await f.stack.db.query(`UPDATE ${s.inventory}.reservations SET expires_at = now() WHERE order_id = $1`, [lucky]);
    assert.equal(await waitUntilSettled(f.stack.db, f.system, 60_000), true);
    assert.deepEqual(await luckyStatus(), { status: 'COMPLETED', reason: 'paid after the reservation expired' });
    const moved = await f.stack.db.query(
      `SELECT type, on_hand_delta, reserved_delta FROM ${s.inventory}.movements WHERE product_id = 'p-last' AND reference_id = $1 ORDER BY seq`,
      [lucky],
    );
    assert.deepEqual(
      moved.rows.map((r) => [r.type, r.on_hand_delta, r.reserved_delta]),
      [
        ['RESERVATION', 0, 2],
        ['DECREMENT', -2, 0],
      ],
    );
    assert.deepEqual((await audit(f.stack.db, f.system)).findings, []);
  });

  it('rebuilds the stock ledger from history into a fresh table, equal to the live movements', async () => {
    const schema = f.system.schemas.inventory;
    const consumer = await rebuildLedger({
      db: f.stack.db,
      transport: f.stack.transport,
      schema,
      group: `ledger-rebuild-${Date.now().toString(36)}`,
      table: 'ledger_rebuilt',
    });
    try {
      const count = async (table: string) =>
        Number((await f.stack.db.query(`SELECT count(*) AS n FROM ${schema}.${table}`)).rows[0]?.n);
      await waitFor('the ledger to hold every movement', async () => {
        const movements = await count('movements');
        return movements > 0 && (await count('ledger_rebuilt')) === movements;
      });
      const rows = async (sql: string) => (await f.stack.db.query(sql)).rows.map((r) => JSON.stringify(r)).sort();
      const live = await rows(
        `SELECT id AS movement, product_id, warehouse_id, type, previous_stock, new_stock FROM ${schema}.movements`,
      );
      const rebuilt = await rows(
        `SELECT movement_id AS movement, product_id, warehouse_id, type, previous_stock, new_stock FROM ${schema}.ledger_rebuilt`,
      );
      assert.ok(live.length >= 100, `the orders made movements (${live.length})`);
      assert.deepEqual(rebuilt, live, 'the ledger rebuilt from history is the live one, row for row');
    } finally {
      await consumer.stop();
    }
  });

  it('the books catch what they claim to: a duplicate effect, stock off its movements', async () => {
    const s = f.system.schemas;
    const [seen] = (
      await f.stack.db.query<{ event_id: string; type: string }>(`SELECT event_id, type FROM ${s.monitor}.seen LIMIT 1`)
    ).rows;
    await f.stack.db.query(`INSERT INTO ${s.monitor}.seen (event_id, type) VALUES ($1, $2)`, [
      seen?.event_id,
      seen?.type,
    ]);
    await f.stack.db.query(
      `UPDATE ${s.inventory}.stock SET on_hand = on_hand + 1 WHERE product_id = 'p-webcam' AND warehouse_id = 'wh-east'`,
    );
    // The constraints forbid oversold rows; without them, the books would still see one.
    await f.stack.db.query(`ALTER TABLE ${s.inventory}.stock DROP CONSTRAINT stock_check`);
    await f.stack.db.query(
      `UPDATE ${s.inventory}.stock SET reserved = on_hand + 1 WHERE product_id = 'p-headset' AND warehouse_id = 'wh-west'`,
    );
    const books = await audit(f.stack.db, f.system);
    assert.equal(books.oversold, 1);
    assert.equal(books.appliedTwice, 1);
    assert.equal(books.stockConserved, false);
    assert.match(books.findings.join('\n'), /p-webcam@wh-east: \d+ on hand/);
  });
});
