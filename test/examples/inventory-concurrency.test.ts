// The inventory example on PostgreSQL and Kafka under concurrency: requests and orders racing for
// the same stock never oversell; transfers and adjustments racing in both directions keep it whole.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { audit, waitUntilSettled } from '../../examples/inventory/demo/books.ts';
import { inventoryFixture } from '../support/inventory.ts';

describe('inventory example: concurrency', () => {
  const f = inventoryFixture();
  it('never oversells: concurrent reservations over HTTP and concurrent orders through Kafka', async () => {
    await f.api('POST', '/products', { id: 'p-scarce', sku: 'SC-1', name: 'Scarce', unitPriceCents: 100 });
    await f.api('POST', '/stock/replenish', {
      warehouseId: 'wh-east',
      items: [{ productId: 'p-scarce', quantity: 10 }],
    });
    const attempts = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        f.api('POST', '/reservations', {
          orderId: `http-${i}`,
          warehouseId: 'wh-east',
          items: [{ productId: 'p-scarce', quantity: 1 }],
        }),
      ),
    );
    assert.equal(attempts.filter((a) => a.status === 201).length, 10);
    assert.equal(attempts.filter((a) => a.status === 409).length, 30);
    const refused = attempts.find((a) => a.status === 409);
    assert.deepEqual(refused?.body.error.details.failedItems[0], {
      productId: 'p-scarce',
      sku: 'SC-1',
      requestedQuantity: 1,
      availableQuantity: 0,
    });
    const s1 = await f.stockOf('p-scarce', 'wh-east');
    assert.equal(s1.onHand, 10);
    assert.equal(s1.reserved, 10);

    // Ten more arrive; thirty orders race for them through the order service, Kafka and the consumer.
    await f.api('POST', '/stock/replenish', {
      warehouseId: 'wh-east',
      items: [{ productId: 'p-scarce', quantity: 10 }],
    });
    const item = { productId: 'p-scarce', sku: 'SC-1', quantity: 1, unitPriceCents: 100 };
    const ids = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        f.system.orders.place({ customerId: `race-${i}`, items: [item], plan: 'abandon' }),
      ),
    );
    const s = f.system.schemas;
    const statuses = async () =>
      (
        await f.stack.db.query<{ status: string }>(`SELECT status FROM ${s.orders}.orders WHERE id = ANY($1)`, [ids])
      ).rows.map((r) => r.status);
    const deadline = Date.now() + 60_000;
    while ((await statuses()).includes('PENDING') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const final = await statuses();
    assert.equal(final.filter((x) => x === 'REJECTED').length, 20, JSON.stringify(final));
    assert.equal(final.filter((x) => x === 'AWAITING_PAYMENT' || x === 'EXPIRED').length, 10);
    const { rows } = await f.stack.db.query(
      `SELECT * FROM ${s.inventory}.stock WHERE on_hand < 0 OR reserved > on_hand`,
    );
    assert.equal(rows.length, 0);
  });

  it('transfers and adjustments racing each other keep stock whole and never negative', async () => {
    const moves = Array.from({ length: 30 }, (_, i) =>
      i % 3 === 2
        ? f.api('POST', '/stock/adjust', {
            productId: 'p-mouse',
            warehouseId: i % 2 ? 'wh-east' : 'wh-west',
            quantity: -5,
            reason: 'damaged',
          })
        : f.api('POST', '/stock/transfer', {
            productId: 'p-mouse',
            fromWarehouseId: i % 2 ? 'wh-east' : 'wh-west',
            toWarehouseId: i % 2 ? 'wh-west' : 'wh-east',
            quantity: 7,
          }),
    );
    const results = await Promise.all(moves);
    for (const r of results) assert.ok([201, 409].includes(r.status), JSON.stringify(r));
    for (const w of ['wh-east', 'wh-west']) {
      const row = await f.stockOf('p-mouse', w);
      assert.ok(row.onHand >= 0 && row.reserved <= row.onHand, JSON.stringify(row));
    }
    assert.equal(await waitUntilSettled(f.stack.db, f.system, 60_000), true);
    const books = await audit(f.stack.db, f.system);
    assert.deepEqual(books.findings, []);
  });
});
