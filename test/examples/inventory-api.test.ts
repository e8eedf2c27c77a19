// The inventory example's HTTP API on PostgreSQL and Kafka: expiry, idempotent deliveries, and bad
// input refused with a 4xx and nothing written.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { uniqueName } from '../support/env.ts';
import { inventoryFixture } from '../support/inventory.ts';

describe('inventory example: the HTTP API', () => {
  const f = inventoryFixture();
  it('expires reservations nobody confirms, with a released event', async () => {
    const made = await f.api('POST', '/reservations', {
      orderId: 'soon-gone',
      items: [{ productId: 'p-dock', quantity: 2 }],
      ttlSeconds: 1,
    });
    assert.equal(made.status, 201);
    const deadline = Date.now() + 15_000;
    let reservation = (await f.api('GET', `/reservations/${made.body.reservationId}`)).body;
    while (reservation.status === 'ACTIVE' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      reservation = (await f.api('GET', `/reservations/${made.body.reservationId}`)).body;
    }
    assert.equal(reservation.status, 'RELEASED');
    assert.equal(reservation.releaseReason, 'EXPIRED');
    const { rows } = await f.stack.db.query(
      `SELECT payload FROM ${f.system.schemas.inventory}.log WHERE type = 'inventory.stock.released' AND payload->>'orderId' = 'soon-gone'`,
    );
    assert.equal(rows.length, 1);
  });

  it('the HTTP API refuses bad input with clear errors, and books a delivery once per reference', async () => {
    assert.deepEqual((await f.api('GET', '/health')).body, { status: 'ok', checks: { database: true } });
    const bad = await f.api('POST', '/stock/replenish', {
      warehouseId: 'wh-east',
      items: [{ productId: 'p-dock', quantity: -3 }],
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'INVALID_REQUEST');
    assert.match(bad.body.error.message, /items\.0\.quantity/);
    assert.equal((await f.api('POST', '/products', '{"sku": ')).body.error.code, 'INVALID_JSON');
    assert.equal((await f.api('POST', '/products', 'sku=1', { 'content-type': 'text/plain' })).status, 415);
    assert.equal((await f.api('GET', '/products/nope')).status, 404);
    assert.equal((await f.api('DELETE', '/products')).status, 405);
    assert.equal((await f.api('POST', '/products', { sku: 'KB-101', name: 'again' })).status, 409);
    assert.equal(
      (
        await f.api('POST', '/stock/transfer', {
          productId: 'p-dock',
          fromWarehouseId: 'wh-east',
          toWarehouseId: 'wh-east',
          quantity: 1,
        })
      ).status,
      400,
    );
    const tooMuch = await f.api('POST', '/stock/adjust', {
      productId: 'p-dock',
      warehouseId: 'wh-east',
      quantity: -100_000,
      reason: 'typo',
    });
    assert.equal(tooMuch.status, 409);
    assert.equal(tooMuch.body.error.code, 'INSUFFICIENT_STOCK');

    const delivery = {
      warehouseId: 'wh-west',
      items: [{ productId: 'p-dock', quantity: 5 }],
      reference: uniqueName('po'),
    };
    const before = await f.stockOf('p-dock', 'wh-west');
    const first = await f.api('POST', '/stock/replenish', delivery);
    const again = await f.api('POST', '/stock/replenish', delivery);
    assert.deepEqual([first.status, again.status], [201, 200]);
    assert.equal(again.body.movementId, first.body.movementId);
    assert.equal((await f.stockOf('p-dock', 'wh-west')).onHand, (before?.onHand ?? 0) + 5);
    const history = await f.api('GET', '/movements?productId=p-dock&warehouseId=wh-west&limit=1');
    assert.equal(history.body[0].type, 'REPLENISHMENT');
    assert.equal(history.body[0].referenceId, delivery.reference);
  });

  it('refuses, with a 4xx and nothing written, what would otherwise fail in the database', async () => {
    const s = f.system.schemas;
    const events = async () =>
      Number((await f.stack.db.query<{ n: string }>(`SELECT count(*) AS n FROM ${s.inventory}.log`)).rows[0]?.n);
    const before = await events();
    const cases: [string, string, unknown, number, string][] = [
      ['GET', '/products/%', undefined, 400, 'INVALID_PATH'],
      ['GET', '/products/a%00b', undefined, 404, 'NOT_FOUND'],
      ['GET', '/stock?productId=%00', undefined, 400, 'INVALID_REQUEST'],
      ['POST', '/products', { sku: 'a\u0000b', name: 'nul' }, 400, 'INVALID_REQUEST'],
      ['POST', '/products', { sku: 'BIG', name: 'big', unitPriceCents: 2 ** 40 }, 400, 'INVALID_REQUEST'],
      [
        'PUT',
        '/stock/minimum',
        { productId: 'p-dock', warehouseId: 'wh-east', minimum: 2 ** 40 },
        400,
        'INVALID_REQUEST',
      ],
      [
        'POST',
        '/stock/adjust',
        { productId: 'p-dock', warehouseId: 'wh-east', quantity: 2 ** 40, reason: 'x' },
        400,
        'INVALID_REQUEST',
      ],
      ['POST', '/reservations', { orderId: 'o-x', items: [{ productId: 'nope', quantity: 1 }] }, 404, 'NOT_FOUND'],
      [
        'POST',
        '/reservations',
        { orderId: 'o-x', warehouseId: 'nowhere', items: [{ productId: 'p-dock', quantity: 1 }] },
        404,
        'NOT_FOUND',
      ],
    ];
    for (const [method, path, body, status, code] of cases) {
      const reply = await f.api(method, path, body);
      assert.deepEqual(
        [reply.status, reply.body.error?.code],
        [status, code],
        `${method} ${path} ${JSON.stringify(body)}`,
      );
    }
    assert.equal(await events(), before, 'no event for a refused request');

    // An order's reservation is its events' to release or fulfil, not the API's.
    const item = { productId: 'p-dock', sku: 'DK-404', quantity: 1, unitPriceCents: 15900 };
    const orderId = await f.system.orders.place({ customerId: 'c-api', items: [item], plan: 'abandon' });
    const managedOf = async () =>
      (
        await f.stack.db.query<{ id: string }>(
          `SELECT id FROM ${s.inventory}.reservations WHERE order_id = $1 AND origin = 'order'`,
          [orderId],
        )
      ).rows[0];
    const deadline = Date.now() + 30_000;
    while (!(await managedOf()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const managed = await managedOf();
    const refused = await f.api('POST', `/reservations/${managed?.id}/release`, {});
    assert.deepEqual([refused.status, refused.body.error.code], [409, 'RESERVATION_MANAGED_BY_ORDER']);
    // One active reservation per order.
    const once = { orderId: uniqueName('o'), items: [{ productId: 'p-dock', quantity: 1 }] };
    assert.equal((await f.api('POST', '/reservations', once)).status, 201);
    const twice = await f.api('POST', '/reservations', once);
    assert.deepEqual([twice.status, twice.body.error.code], [409, 'CONFLICT']);
  });

  it("writes the catalog's events (seed 002) in the transaction of each change, and refuses to reserve a deactivated item", async () => {
    const s = f.system.schemas.inventory;
    const itemId = uniqueName('item');
    const events = async (key: string) =>
      (
        await f.stack.db.query<{ type: string; payload: Record<string, unknown>; aggregate_type: string }>(
          `SELECT type, payload, aggregate_type FROM ${s}.log WHERE partition_key = $1 ORDER BY xid, seq`,
          [key],
        )
      ).rows;

    const made = await f.api('POST', '/products', {
      id: itemId,
      sku: itemId.toUpperCase(),
      name: 'Cable',
      unitPriceCents: 900,
    });
    assert.equal(made.status, 201);
    assert.equal((await f.api('PATCH', `/products/${itemId}`, { unitPriceCents: 1200 })).body.unitPriceCents, 1200);
    // The same values again change nothing and write no event.
    assert.equal((await f.api('PATCH', `/products/${itemId}`, { unitPriceCents: 1200 })).status, 200);
    assert.equal((await f.api('PATCH', `/products/${itemId}`, {})).status, 400);
    // A conflict writes neither the row nor the event.
    assert.equal((await f.api('POST', '/products', { sku: itemId.toUpperCase(), name: 'dup' })).status, 409);
    const reserveIt = () =>
      f.api('POST', '/reservations', { orderId: uniqueName('o'), items: [{ productId: itemId, quantity: 1 }] });
    assert.equal((await f.api('POST', `/products/${itemId}/deactivate`, { reason: 'RECALLED' })).body.active, false);
    assert.equal((await f.api('POST', `/products/${itemId}/deactivate`, {})).status, 200, 'idempotent');
    const refused = await reserveIt();
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'ITEM_DEACTIVATED');
    assert.equal((await f.api('PATCH', '/products/nope', { name: 'x' })).status, 404);

    assert.deepEqual(
      (await events(itemId)).map((e) => [e.type, e.aggregate_type]),
      [
        ['item.created', 'item'],
        ['item.updated', 'item'],
        ['item.deactivated', 'item'],
      ],
    );
    const [created, updated, deactivated] = await events(itemId);
    assert.deepEqual(created?.payload, { itemId, sku: itemId.toUpperCase(), name: 'Cable', unitPriceCents: 900 });
    assert.deepEqual(updated?.payload.changed, ['unitPriceCents']);
    assert.equal(deactivated?.payload.reason, 'RECALLED');

    const warehouseId = uniqueName('wh');
    assert.equal(
      (await f.api('POST', '/warehouses', { id: warehouseId, code: warehouseId, name: 'North' })).status,
      201,
    );
    assert.equal((await f.api('PATCH', `/warehouses/${warehouseId}`, { name: 'North 2' })).body.name, 'North 2');
    assert.deepEqual(
      (await events(warehouseId)).map((e) => [e.type, e.payload.name]),
      [
        ['warehouse.created', 'North'],
        ['warehouse.updated', 'North 2'],
      ],
    );
  });
});
