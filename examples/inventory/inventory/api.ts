// The inventory service's HTTP API. Every write runs in one transaction with its events.
import { createOutbox } from 'herald';
import { z } from 'zod';
import type { PoolLike } from '../db.ts';
import { InventoryError } from '../errors.ts';
import { parse, type Request, Router } from '../http.ts';
import {
  createProduct,
  createWarehouse,
  getProduct,
  getReservation,
  listMovements,
  listProducts,
  listStock,
  listWarehouses,
} from './catalog.ts';
import { inStockTransaction, type StockContext } from './context.ts';
import { adjust, replenish, setMinimum, transfer } from './movements.ts';
import { findReservation, fulfil, release, reserve } from './reservations.ts';

const id = z.string().min(1).max(100);
const quantity = z.number().int().positive().max(1_000_000);
const items = z
  .array(z.object({ productId: id, quantity }))
  .min(1)
  .max(100);

const bodies = {
  product: z.object({
    id: id.optional(),
    sku: z.string().min(1).max(64),
    name: z.string().min(1).max(200),
    unitPriceCents: z.number().int().nonnegative().optional(),
  }),
  warehouse: z.object({ id: id.optional(), code: z.string().min(1).max(32), name: z.string().min(1).max(200) }),
  minimum: z.object({ productId: id, warehouseId: id, minimum: z.number().int().nonnegative() }),
  replenish: z.object({
    warehouseId: id,
    items,
    supplierId: z.string().max(100).optional(),
    reference: z.string().min(1).max(100).optional(),
  }),
  adjust: z.object({
    productId: id,
    warehouseId: id,
    quantity: z
      .number()
      .int()
      .refine((q) => q !== 0, 'must not be 0'),
    reason: z.string().min(1).max(500),
  }),
  transfer: z.object({ productId: id, fromWarehouseId: id, toWarehouseId: id, quantity }),
  reserve: z.object({
    orderId: id,
    warehouseId: id.optional(),
    items,
    ttlSeconds: z.number().int().positive().max(86_400).default(900),
  }),
  release: z.object({ reason: z.string().min(1).max(200).default('RELEASED_BY_API') }),
};
const movementQuery = z.object({
  productId: id.optional(),
  warehouseId: id.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

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
    .on('POST', '/products', async (req) => ok(await createProduct(db, schema, parse(bodies.product, req.body)), 201))
    .on('GET', '/products', async () => ok(await listProducts(db, schema)))
    .on('GET', '/products/:id', async (req) => ok(await getProduct(db, schema, req.params.id as string)))
    .on('POST', '/warehouses', async (req) =>
      ok(await createWarehouse(db, schema, parse(bodies.warehouse, req.body)), 201),
    )
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
      const result = await write(req, (ctx) => reserve(ctx, { ...body, ttlMs: ttlSeconds * 1000 }));
      if (!result.reserved) {
        throw new InventoryError(409, 'INSUFFICIENT_STOCK', result.reason, { failedItems: result.failedItems });
      }
      return ok(result, 201);
    })
    .on('GET', '/reservations/:id', async (req) => ok(await getReservation(db, schema, req.params.id as string)))
    .on('POST', '/reservations/:id/release', async (req) => {
      const { reason } = parse(bodies.release, req.body);
      const done = await write(req, async (ctx) => {
        const r = await findReservation(ctx, { id: req.params.id as string });
        if (!r) throw new InventoryError(404, 'NOT_FOUND', `reservation ${req.params.id} not found`);
        if (r.status !== 'ACTIVE')
          throw new InventoryError(409, 'RESERVATION_NOT_ACTIVE', `reservation ${r.id} is ${r.status}`);
        return release(ctx, r, reason);
      });
      return ok({ released: done, reservation: await getReservation(db, schema, req.params.id as string) });
    })
    .on('POST', '/reservations/:id/fulfil', async (req) => {
      await write(req, async (ctx) => {
        const r = await findReservation(ctx, { id: req.params.id as string });
        if (!r) throw new InventoryError(404, 'NOT_FOUND', `reservation ${req.params.id} not found`);
        return fulfil(ctx, r);
      });
      return ok(await getReservation(db, schema, req.params.id as string));
    })
    .on('GET', '/movements', async (req) => ok(await listMovements(db, schema, parse(movementQuery, query(req)))));
}
