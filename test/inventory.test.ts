// The inventory example (examples/inventory) on real PostgreSQL and Kafka, in this process: the
// services, relays and consumers as the demo runs them. The books must balance after a stream of
// orders; concurrent requests and orders must never oversell; the HTTP API refuses bad input.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createOutbox } from 'herald';
import { openStack, type Stack } from '../examples/inventory/db.ts';
import { audit, waitUntilSettled } from '../examples/inventory/demo/books.ts';
import { nextOrder, random, setUpCatalog } from '../examples/inventory/demo/scenario.ts';
import { type System, startSystem } from '../examples/inventory/demo/system.ts';
import { inStockTransaction } from '../examples/inventory/inventory/context.ts';
import { adjust } from '../examples/inventory/inventory/movements.ts';
import { releaseIfExpired } from '../examples/inventory/inventory/reservations.ts';
import { brokers, databaseUrl, uniqueName } from './support/env.ts';

describe('inventory example on PostgreSQL and Kafka', () => {
  let stack: Stack;
  let system: System;
  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${system.apiUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    // biome-ignore lint/suspicious/noExplicitAny: JSON of many shapes, checked field by field below
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const stockOf = async (productId: string, warehouseId: string) =>
    (await api('GET', `/stock?productId=${productId}&warehouseId=${warehouseId}`)).body[0] as {
      onHand: number;
      reserved: number;
    };

  before(async () => {
    stack = await openStack({ DATABASE_URL: databaseUrl, KAFKA_BROKERS: brokers.join(',') }, 'unused');
    system = await startSystem(stack, {
      prefix: uniqueName('inv'),
      runId: Date.now().toString(36),
      reservationTtlMs: 8000,
      expiryIntervalMs: 200,
      port: 0,
    });
    await setUpCatalog(system.apiUrl);
  });
  after(async () => {
    await system?.stop();
    for (const schema of Object.values(system?.schemas ?? {}))
      await stack.db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await stack?.transport.close();
    await stack?.db.end();
  });

  it('a stream of orders settles, and the books balance', async () => {
    const rand = random(7);
    const placed: Promise<string>[] = [];
    for (let i = 0; i < 120; i++) placed.push(system.orders.place(nextOrder(rand, i)));
    await Promise.all(placed);
    assert.equal(await waitUntilSettled(stack.db, system, 90_000), true, 'every order settles');
    const books = await audit(stack.db, system);
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
    const late = await stack.db.query<{ status: string; reason: string | null }>(
      `SELECT status, reason FROM ${system.schemas.orders}.orders WHERE plan = 'late'`,
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
    const s = system.schemas;
    const [order] = (
      await stack.db.query<{ id: string }>(
        `SELECT id FROM ${s.orders}.orders WHERE status = 'COMPLETED' AND plan = 'pay' LIMIT 1`,
      )
    ).rows;
    assert.ok(order);
    const { rows } = await stack.db.query<{ id: string; type: string; causation_id: string | null }>(
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

  it('never oversells: concurrent reservations over HTTP and concurrent orders through Kafka', async () => {
    await api('POST', '/products', { id: 'p-scarce', sku: 'SC-1', name: 'Scarce', unitPriceCents: 100 });
    await api('POST', '/stock/replenish', { warehouseId: 'wh-east', items: [{ productId: 'p-scarce', quantity: 10 }] });
    const attempts = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        api('POST', '/reservations', {
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
    const s1 = await stockOf('p-scarce', 'wh-east');
    assert.equal(s1.onHand, 10);
    assert.equal(s1.reserved, 10);

    // Ten more arrive; thirty orders race for them through the order service, Kafka and the consumer.
    await api('POST', '/stock/replenish', { warehouseId: 'wh-east', items: [{ productId: 'p-scarce', quantity: 10 }] });
    const item = { productId: 'p-scarce', sku: 'SC-1', quantity: 1, unitPriceCents: 100 };
    const ids = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        system.orders.place({ customerId: `race-${i}`, items: [item], plan: 'abandon' }),
      ),
    );
    const s = system.schemas;
    const statuses = async () =>
      (
        await stack.db.query<{ status: string }>(`SELECT status FROM ${s.orders}.orders WHERE id = ANY($1)`, [ids])
      ).rows.map((r) => r.status);
    const deadline = Date.now() + 60_000;
    while ((await statuses()).includes('PENDING') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const final = await statuses();
    assert.equal(final.filter((x) => x === 'REJECTED').length, 20, JSON.stringify(final));
    assert.equal(final.filter((x) => x === 'AWAITING_PAYMENT' || x === 'EXPIRED').length, 10);
    const { rows } = await stack.db.query(`SELECT * FROM ${s.inventory}.stock WHERE on_hand < 0 OR reserved > on_hand`);
    assert.equal(rows.length, 0);
  });

  it('transfers and adjustments racing each other keep stock whole and never negative', async () => {
    const moves = Array.from({ length: 30 }, (_, i) =>
      i % 3 === 2
        ? api('POST', '/stock/adjust', {
            productId: 'p-mouse',
            warehouseId: i % 2 ? 'wh-east' : 'wh-west',
            quantity: -5,
            reason: 'damaged',
          })
        : api('POST', '/stock/transfer', {
            productId: 'p-mouse',
            fromWarehouseId: i % 2 ? 'wh-east' : 'wh-west',
            toWarehouseId: i % 2 ? 'wh-west' : 'wh-east',
            quantity: 7,
          }),
    );
    const results = await Promise.all(moves);
    for (const r of results) assert.ok([201, 409].includes(r.status), JSON.stringify(r));
    for (const w of ['wh-east', 'wh-west']) {
      const row = await stockOf('p-mouse', w);
      assert.ok(row.onHand >= 0 && row.reserved <= row.onHand, JSON.stringify(row));
    }
    assert.equal(await waitUntilSettled(stack.db, system, 60_000), true);
    const books = await audit(stack.db, system);
    assert.deepEqual(books.findings, []);
  });

  it('expires reservations nobody confirms, with a released event', async () => {
    const made = await api('POST', '/reservations', {
      orderId: 'soon-gone',
      items: [{ productId: 'p-dock', quantity: 2 }],
      ttlSeconds: 1,
    });
    assert.equal(made.status, 201);
    const deadline = Date.now() + 15_000;
    let reservation = (await api('GET', `/reservations/${made.body.reservationId}`)).body;
    while (reservation.status === 'ACTIVE' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      reservation = (await api('GET', `/reservations/${made.body.reservationId}`)).body;
    }
    assert.equal(reservation.status, 'RELEASED');
    assert.equal(reservation.releaseReason, 'EXPIRED');
    const { rows } = await stack.db.query(
      `SELECT payload FROM ${system.schemas.inventory}.log WHERE type = 'inventory.stock.released' AND payload->>'orderId' = 'soon-gone'`,
    );
    assert.equal(rows.length, 1);
  });

  it('the HTTP API refuses bad input with clear errors, and books a delivery once per reference', async () => {
    assert.deepEqual((await api('GET', '/health')).body, { status: 'ok', checks: { database: true } });
    const bad = await api('POST', '/stock/replenish', {
      warehouseId: 'wh-east',
      items: [{ productId: 'p-dock', quantity: -3 }],
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'INVALID_REQUEST');
    assert.match(bad.body.error.message, /items\.0\.quantity/);
    assert.equal((await api('POST', '/products', '{"sku": ')).body.error.code, 'INVALID_JSON');
    assert.equal((await api('POST', '/products', 'sku=1', { 'content-type': 'text/plain' })).status, 415);
    assert.equal((await api('GET', '/products/nope')).status, 404);
    assert.equal((await api('DELETE', '/products')).status, 405);
    assert.equal((await api('POST', '/products', { sku: 'KB-101', name: 'again' })).status, 409);
    assert.equal(
      (
        await api('POST', '/stock/transfer', {
          productId: 'p-dock',
          fromWarehouseId: 'wh-east',
          toWarehouseId: 'wh-east',
          quantity: 1,
        })
      ).status,
      400,
    );
    const tooMuch = await api('POST', '/stock/adjust', {
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
    const before = await stockOf('p-dock', 'wh-west');
    const first = await api('POST', '/stock/replenish', delivery);
    const again = await api('POST', '/stock/replenish', delivery);
    assert.deepEqual([first.status, again.status], [201, 200]);
    assert.equal(again.body.movementId, first.body.movementId);
    assert.equal((await stockOf('p-dock', 'wh-west')).onHand, (before?.onHand ?? 0) + 5);
    const history = await api('GET', '/movements?productId=p-dock&warehouseId=wh-west&limit=1');
    assert.equal(history.body[0].type, 'REPLENISHMENT');
    assert.equal(history.body[0].referenceId, delivery.reference);
  });

  it('compensates an order paid after its reservation expired when the goods are gone: cancelled, refunded', async () => {
    await api('POST', '/products', { id: 'p-last', sku: 'LAST-1', name: 'The last two', unitPriceCents: 500 });
    await api('POST', '/stock/replenish', { warehouseId: 'wh-east', items: [{ productId: 'p-last', quantity: 2 }] });
    const item = { productId: 'p-last', sku: 'LAST-1', quantity: 2, unitPriceCents: 500 };
    const orderId = await system.orders.place({ customerId: 'late-1', items: [item], plan: 'late' });
    const s = system.schemas;
    const statusOf = async () =>
      (
        await stack.db.query<{ status: string; reason: string | null }>(
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
      await stack.db.query<{ id: string }>(
        `UPDATE ${s.inventory}.reservations SET expires_at = now() WHERE order_id = $1 RETURNING id`,
        [orderId],
      )
    ).rows;
    const outbox = createOutbox({ schema: s.inventory });
    await inStockTransaction(stack.db, { schema: s.inventory, performedBy: 'test' }, outbox, async (ctx) => {
      assert.equal(await releaseIfExpired(ctx, reservation?.id as string), true);
      await adjust(ctx, { productId: 'p-last', warehouseId: 'wh-east', quantity: -2, reason: 'damaged' });
    });
    assert.equal(await waitUntilSettled(stack.db, system, 60_000), true);
    assert.deepEqual(await statusOf(), {
      status: 'CANCELLED',
      reason: 'paid, then the reservation expired and the stock is gone: refunded',
    });
    const payments = await stack.db.query(`SELECT status FROM ${s.payments}.payments WHERE order_id = $1`, [orderId]);
    assert.deepEqual(payments.rows, [{ status: 'REFUNDED' }]);
    const refunded = await stack.db.query(
      `SELECT 1 FROM ${s.payments}.log WHERE type = 'payment.refunded' AND payload->>'orderId' = $1`,
      [orderId],
    );
    assert.equal(refunded.rowCount, 1);
    const letters = await stack.db.query(`SELECT 1 FROM ${s.inventory}.consumer_dead_letters`);
    assert.equal(letters.rowCount, 0, 'nothing for an operator to pick up');
    assert.deepEqual((await audit(stack.db, system)).findings, []);

    // The same, with the goods still there: taken from what is available, and the order completes.
    await api('POST', '/stock/replenish', { warehouseId: 'wh-east', items: [{ productId: 'p-last', quantity: 5 }] });
    const lucky = await system.orders.place({ customerId: 'late-2', items: [item], plan: 'late' });
    const luckyStatus = async () =>
      (
        await stack.db.query<{ status: string; reason: string | null }>(
          `SELECT status, reason FROM ${s.orders}.orders WHERE id = $1`,
          [lucky],
        )
      ).rows[0];
    while ((await luckyStatus())?.status !== 'AWAITING_PAYMENT' && Date.now() < deadline + 30_000)
      await new Promise((r) => setTimeout(r, 50));
    await stack.db.query(`UPDATE ${s.inventory}.reservations SET expires_at = now() WHERE order_id = $1`, [lucky]);
    assert.equal(await waitUntilSettled(stack.db, system, 60_000), true);
    assert.deepEqual(await luckyStatus(), { status: 'COMPLETED', reason: 'paid after the reservation expired' });
    const moved = await stack.db.query(
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
    assert.deepEqual((await audit(stack.db, system)).findings, []);
  });

  it('refuses, with a 4xx and nothing written, what would otherwise fail in the database', async () => {
    const s = system.schemas;
    const events = async () =>
      Number((await stack.db.query<{ n: string }>(`SELECT count(*) AS n FROM ${s.inventory}.log`)).rows[0]?.n);
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
      const reply = await api(method, path, body);
      assert.deepEqual(
        [reply.status, reply.body.error?.code],
        [status, code],
        `${method} ${path} ${JSON.stringify(body)}`,
      );
    }
    assert.equal(await events(), before, 'no event for a refused request');

    // An order's reservation is its events' to release or fulfil, not the API's.
    const [managed] = (
      await stack.db.query<{ id: string }>(`SELECT id FROM ${s.inventory}.reservations WHERE origin = 'order' LIMIT 1`)
    ).rows;
    const refused = await api('POST', `/reservations/${managed?.id}/release`, {});
    assert.deepEqual([refused.status, refused.body.error.code], [409, 'RESERVATION_MANAGED_BY_ORDER']);
    // One active reservation per order.
    const once = { orderId: uniqueName('o'), items: [{ productId: 'p-dock', quantity: 1 }] };
    assert.equal((await api('POST', '/reservations', once)).status, 201);
    const twice = await api('POST', '/reservations', once);
    assert.deepEqual([twice.status, twice.body.error.code], [409, 'CONFLICT']);
  });

  it('the books catch what they claim to: a duplicate effect, stock off its movements', async () => {
    const s = system.schemas;
    const [seen] = (
      await stack.db.query<{ event_id: string; type: string }>(`SELECT event_id, type FROM ${s.monitor}.seen LIMIT 1`)
    ).rows;
    await stack.db.query(`INSERT INTO ${s.monitor}.seen (event_id, type) VALUES ($1, $2)`, [
      seen?.event_id,
      seen?.type,
    ]);
    await stack.db.query(
      `UPDATE ${s.inventory}.stock SET on_hand = on_hand + 1 WHERE product_id = 'p-webcam' AND warehouse_id = 'wh-east'`,
    );
    // The constraints forbid oversold rows; without them, the books would still see one.
    await stack.db.query(`ALTER TABLE ${s.inventory}.stock DROP CONSTRAINT stock_check`);
    await stack.db.query(
      `UPDATE ${s.inventory}.stock SET reserved = on_hand + 1 WHERE product_id = 'p-headset' AND warehouse_id = 'wh-west'`,
    );
    const books = await audit(stack.db, system);
    assert.equal(books.oversold, 1);
    assert.equal(books.appliedTwice, 1);
    assert.equal(books.stockConserved, false);
    assert.match(books.findings.join('\n'), /p-webcam@wh-east: \d+ on hand/);
  });
});
