// The inventory example's low-stock alerts and replenishments (seed 002): the thresholds as a
// unit, then on PostgreSQL and Kafka the events the stock changes raise, and the purchasing
// policy's delivery in answer to a CRITICAL alert.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { severityOf } from '../../examples/inventory/inventory/stock.ts';
import { uniqueName } from '../support/env.ts';
import { inventoryFixture } from '../support/inventory.ts';
import { waitFor } from '../support/relay-process.ts';

describe('inventory example: low-stock thresholds', () => {
  it('WARNING below the minimum, CRITICAL at half of it or less, OUT_OF_STOCK at nothing', () => {
    const at = (available: number, minimum: number) => severityOf(available, minimum);
    assert.equal(at(8, 8), null, 'at the minimum: fine');
    assert.equal(at(9, 8), null);
    assert.equal(at(7, 8), 'WARNING');
    assert.equal(at(5, 8), 'WARNING');
    assert.equal(at(4, 8), 'CRITICAL', 'half of the minimum');
    assert.equal(at(1, 8), 'CRITICAL');
    assert.equal(at(0, 8), 'OUT_OF_STOCK');
    assert.equal(at(-2, 8), 'OUT_OF_STOCK', 'oversold by reservations');
    assert.equal(at(2, 3), 'WARNING', 'odd minimum: half rounds down');
    assert.equal(at(1, 3), 'CRITICAL');
    assert.equal(at(1, 0), null, 'no minimum: no warning');
    assert.equal(at(0, 0), 'OUT_OF_STOCK', 'but none left is still out of stock');
  });
});

// biome-ignore lint/suspicious/noExplicitAny: event payloads, checked field by field in the test
type Payload = Record<string, any>;

describe('inventory example: alerts and replenishment events', () => {
  const f = inventoryFixture();
  it('raises each alert once as stock falls, and purchasing answers CRITICAL and OUT_OF_STOCK with a delivery', async () => {
    const product = await f.api('POST', '/products', { sku: uniqueName('SKU'), name: 'alert test' });
    assert.equal(product.status, 201);
    const productId = product.body.id as string;
    const warehouseId = 'wh-east';
    const stock = async () => (await f.stockOf(productId, warehouseId))?.onHand as number;
    const adjust = async (quantity: number) =>
      assert.equal(
        (await f.api('POST', '/stock/adjust', { productId, warehouseId, quantity, reason: 'count' })).status,
        201,
      );

    assert.equal(
      (await f.api('POST', '/stock/replenish', { warehouseId, items: [{ productId, quantity: 10 }] })).status,
      201,
    );
    assert.equal((await f.api('PUT', '/stock/minimum', { productId, warehouseId, minimum: 8 })).status, 200);
    await adjust(-3); // 7: WARNING
    await adjust(-1); // 6: still WARNING, not raised again
    await adjust(-2); // 4: CRITICAL; purchasing orders 4 × 8 = 32
    await waitFor('the restock of the CRITICAL alert', async () => (await stock()) === 36, 30_000);
    await adjust(-36); // 0: OUT_OF_STOCK (the restock cleared the level); another 32 ordered
    await waitFor('the restock of the OUT_OF_STOCK alert', async () => (await stock()) === 32, 30_000);

    const events = async (type: string) =>
      (
        await f.stack.db.query(
          `SELECT payload FROM ${f.system.schemas.inventory}.log
WHERE type = $1 AND payload::text LIKE '%' || $2 || '%' ORDER BY xid, seq`,
          [type, productId],
        )
      ).rows.map((r) => r.payload as Payload);
    const alerts = await events('inventory.stock.low_stock_alert');
    assert.deepEqual(
      alerts.map((a) => [a.severity, a.currentStock, a.minimumStock, a.warehouseId]),
      [
        ['WARNING', 7, 8, warehouseId],
        ['CRITICAL', 4, 8, warehouseId],
        ['OUT_OF_STOCK', 0, 8, warehouseId],
      ],
    );
    const replenished = await events('inventory.stock.replenished');
    assert.deepEqual(
      replenished.map((r) => [r.items[0].quantityReplenished, r.items[0].newStockLevel, r.supplierId ?? null]),
      [
        [10, 10, null],
        [32, 36, 'acme-supplies'],
        [32, 32, 'acme-supplies'],
      ],
    );
    assert.deepEqual(
      replenished.slice(1).map((r) => r.referenceNumber),
      alerts.slice(1).map((a) => `restock-${a.alertId}`),
      'each delivery names the alert it answers',
    );
  });
});
