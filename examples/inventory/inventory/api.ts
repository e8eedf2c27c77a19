// The inventory service's HTTP API. Every write runs in one transaction with its events.
import { createOutbox } from 'herald';
import { z } from 'zod';
import type { PoolLike } from '../db.ts';
import { InventoryError } from '../errors.ts';
import { parse, type Request, Router } from '../http.ts';
import {
  createProduct,
  createWarehouse,
  deactivateProduct,
  getProduct,
  getReservation,
  listMovements,
  listProducts,
  listStock,
  listWarehouses,
  requireCatalog,
  updateProduct,
  updateWarehouse,
} from './catalog.ts';
import { inStockTransaction, type StockContext } from './context.ts';
import { adjust, replenish, setMinimum, transfer } from './movements.ts';
import { findReservation, fulfil, type Reservation, release, reserve } from './reservations.ts';

// Ids are plain ASCII, so JavaScript's sort and PostgreSQL's "C" collation agree (lock order).
const id = z.string().regex(/^[A-Za-z0-9._:@-]{1,100}$/, 'must be 1-100 of A-Z a-z 0-9 . _ : @ -');
/** Free text: anything but NUL, which PostgreSQL cannot store. */
const text = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((v) => !v.includes('\u0000'), 'must not contain NUL');
const quantity = z.number().int().positive().max(1_000_000);
const count = z.number().int().nonnegative().max(1_000_000_000);
const items = z
  .array(z.object({ productId: id, quantity }))
  .min(1)
  .max(100);

const bodies = {
  product: z.object({
    id: id.optional(),
    sku: text(64),
    name: text(200),
    unitPriceCents: count.optional(),
  }),
  warehouse: z.object({ id: id.optional(), code: text(32), name: text(200) }),
  productChange: z
    .object({ name: text(200).optional(), unitPriceCents: count.optional() })
    .refine((c) => c.name !== undefined || c.unitPriceCents !== undefined, 'give name or unitPriceCents'),
  warehouseChange: z.object({ name: text(200) }),
  deactivate: z.object({ reason: text(200).default('DISCONTINUED') }),
  minimum: z.object({ productId: id, warehouseId: id, minimum: count }),
  replenish: z.object({
    warehouseId: id,
    items,
    supplierId: text(100).optional(),
    reference: text(100).optional(),
  }),
  adjust: z.object({
    productId: id,
    warehouseId: id,
    quantity: z
      .number()
      .int()
      .min(-1_000_000)
      .max(1_000_000)
      .refine((q) => q !== 0, 'must not be 0'),
    reason: text(500),
  }),
  transfer: z.object({ productId: id, fromWarehouseId: id, toWarehouseId: id, quantity }),
  reserve: z.object({
    orderId: id,
    warehouseId: id.optional(),
    items,
    ttlSeconds: z.number().int().positive().max(86_400).default(900),
  }),
  release: z.object({ reason: text(200).default('RELEASED_BY_API') }),
};
const movementQuery = z.object({
  productId: id.optional(),
  warehouseId: id.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** The `:id` of the path: one that no id could match is simply not found. */
function pathId(req: Request): string {
  const value = req.params.id ?? '';
  if (!id.safeParse(value).success) throw new InventoryError(404, 'NOT_FOUND', `no such id: ${JSON.stringify(value)}`);
  return value;
}

/** An order's reservation is released and fulfilled by its order's events alone, never by hand. */
function byHand(r: Reservation): void {
  if (r.origin === 'order') {
    throw new InventoryError(
      409,
      'RESERVATION_MANAGED_BY_ORDER',
      `reservation ${r.id} belongs to order ${r.order_id}: cancel or fulfil the order instead`,
    );
  }
}

export function inventoryApi(db: PoolLike, schema: string): Router {
  const outbox = createOutbox({ schema, source: '/inventory' });
  const write = <T>(req: Request, fn: (ctx: StockContext) => Promise<T>) => {
    const header = (name: string) => {
      const v = req.headers[name];
      return typeof v === 'string' && v.length > 0 && v.length <= 200 ? v : undefined;
    };
    const correlationId = header('x-correlation-id');
    const performedBy = header('x-user');
    return inStockTransaction(
      db,
      { schema, ...(correlationId ? { correlationId } : {}), ...(performedBy ? { performedBy } : {}) },
      outbox,
      fn,
    );
  };
  const ok = (body: unknown, status = 200) => ({ status, body });
  const query = (req: Request) => Object.fromEntries(req.query);

  return new Router()
    .on('GET', '/health', async () => {
      const database = await db.query('SELECT 1').then(
        (r) => r.rowCount === 1,
        () => false,
      );
      return ok({ status: database ? 'ok' : 'unavailable', checks: { database } }, database ? 200 : 503);
    })
    .on('POST', '/products', async (req) => {
      const body = parse(bodies.product, req.body);
      return ok(await write(req, (ctx) => createProduct(ctx, body)), 201);
    })
    .on('GET', '/products', async () => ok(await listProducts(db, schema)))
    .on('GET', '/products/:id', async (req) => ok(await getProduct(db, schema, pathId(req))))
    .on('PATCH', '/products/:id', async (req) => {
      const body = parse(bodies.productChange, req.body);
      return ok(await write(req, (ctx) => updateProduct(ctx, pathId(req), body)));
    })
    .on('POST', '/products/:id/deactivate', async (req) => {
      const { reason } = parse(bodies.deactivate, req.body ?? {});
      return ok(await write(req, (ctx) => deactivateProduct(ctx, pathId(req), reason)));
    })
    .on('POST', '/warehouses', async (req) => {
      const body = parse(bodies.warehouse, req.body);
      return ok(await write(req, (ctx) => createWarehouse(ctx, body)), 201);
    })
    .on('PATCH', '/warehouses/:id', async (req) => {
      const body = parse(bodies.warehouseChange, req.body);
      return ok(await write(req, (ctx) => updateWarehouse(ctx, pathId(req), body)));
    })
    .on('GET', '/warehouses', async () => ok(await listWarehouses(db, schema)))
    .on('GET', '/stock', async (req) =>
      ok(await listStock(db, schema, parse(movementQuery.omit({ limit: true }), query(req)))),
    )
    .on('PUT', '/stock/minimum', async (req) => {
      const body = parse(bodies.minimum, req.body);
      await write(req, (ctx) => setMinimum(ctx, body));
      return ok(await listStock(db, schema, body));
    })
    .on('POST', '/stock/replenish', async (req) => {
      const body = parse(bodies.replenish, req.body);
      const { movementId, created } = await write(req, (ctx) => replenish(ctx, body));
      return ok({ movementId, created }, created ? 201 : 200);
    })
    .on('POST', '/stock/adjust', async (req) => {
      const body = parse(bodies.adjust, req.body);
      return ok({ movementId: await write(req, (ctx) => adjust(ctx, body)) }, 201);
    })
    .on('POST', '/stock/transfer', async (req) => {
      const body = parse(bodies.transfer, req.body);
      return ok({ movementId: await write(req, (ctx) => transfer(ctx, body)) }, 201);
    })
    .on('POST', '/reservations', async (req) => {
      const { ttlSeconds, ...body } = parse(bodies.reserve, req.body);
      const result = await write(req, async (ctx) => {
        // A request naming what does not exist is a 404, not a refusal worth an event.
        await requireCatalog(
          ctx.tx,
          schema,
          body.items.map((i) => i.productId),
          body.warehouseId,
        );
        return reserve(ctx, { ...body, ttlMs: ttlSeconds * 1000, origin: 'api' });
      });
      if (!result.reserved) {
        throw new InventoryError(409, 'INSUFFICIENT_STOCK', result.reason, { failedItems: result.failedItems });
      }
      return ok(result, 201);
    })
    .on('GET', '/reservations/:id', async (req) => ok(await getReservation(db, schema, pathId(req))))
    .on('POST', '/reservations/:id/release', async (req) => {
      const { reason } = parse(bodies.release, req.body);
      const done = await write(req, async (ctx) => {
        const r = await findReservation(ctx, { id: pathId(req) });
        if (!r) throw new InventoryError(404, 'NOT_FOUND', `reservation ${req.params.id} not found`);
        byHand(r);
        if (r.status !== 'ACTIVE')
          throw new InventoryError(409, 'RESERVATION_NOT_ACTIVE', `reservation ${r.id} is ${r.status}`);
        return release(ctx, r, reason);
      });
      return ok({ released: done, reservation: await getReservation(db, schema, pathId(req)) });
    })
    .on('POST', '/reservations/:id/fulfil', async (req) => {
      await write(req, async (ctx) => {
        const r = await findReservation(ctx, { id: pathId(req) });
        if (!r) throw new InventoryError(404, 'NOT_FOUND', `reservation ${req.params.id} not found`);
        byHand(r);
        const result = await fulfil(ctx, r);
        if (!result.fulfilled) {
          throw new InventoryError(409, 'INSUFFICIENT_STOCK', `reservation ${r.id} expired and the stock is gone`, {
            failedItems: result.shortfalls,
          });
        }
      });
      return ok(await getReservation(db, schema, pathId(req)));
    })
    .on('GET', '/movements', async (req) => ok(await listMovements(db, schema, parse(movementQuery, query(req)))));
}
