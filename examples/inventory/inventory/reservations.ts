// Reservations: all of an order's items in one warehouse or none, released on cancellation or
// expiry, turned into a decrement when the order is fulfilled.
import { uuidv7 } from 'herald';
import { StockDecremented, StockReleased, StockReservationFailed, StockReserved } from '../events.ts';
import { eventOptions, type StockContext } from './context.ts';
import { applyMovement, available, lockStock, type StockRow } from './stock.ts';

export interface ReserveRequest {
  orderId: string;
  /** Reserve in this warehouse; otherwise in the first (by id) that has every item. */
  warehouseId?: string | undefined;
  items: { productId: string; quantity: number }[];
  ttlMs: number;
  /** `order`: made for an order's events, which alone release or fulfil it; `api`: by hand. */
  origin: 'order' | 'api';
}

export interface Shortfall {
  productId: string;
  sku: string;
  requestedQuantity: number;
  availableQuantity: number;
}

export type ReserveResult =
  | { reserved: true; reservationId: string; warehouseId: string; expiresAt: string }
  | { reserved: false; reason: string; failedItems: Shortfall[] };

function merge(items: ReserveRequest['items']): Map<string, number> {
  const wanted = new Map<string, number>();
  for (const { productId, quantity } of items) wanted.set(productId, (wanted.get(productId) ?? 0) + quantity);
  return wanted;
}

function shortfalls(rows: Map<string, StockRow>, wanted: Map<string, number>, skus: Map<string, string>): Shortfall[] {
  return [...wanted]
    .map(([productId, q]) => ({ productId, q, row: rows.get(productId) }))
    .filter(({ q, row }) => !row || available(row) < q)
    .map(({ productId, q, row }) => ({
      productId,
      sku: skus.get(productId) ?? productId,
      requestedQuantity: q,
      availableQuantity: row ? Math.max(0, available(row)) : 0,
    }));
}

/** Reserves every item or none; a refusal is committed as `reservation_failed`, with what was short. */
export async function reserve(ctx: StockContext, request: ReserveRequest): Promise<ReserveResult> {
  const s = ctx.schema;
  const wanted = merge(request.items);
  const productIds = [...wanted.keys()];
  const products = await ctx.tx.query<{ id: string; sku: string; unit_price_cents: number }>(
    `SELECT id, sku, unit_price_cents FROM ${s}.products WHERE id = ANY($1)`,
    [productIds],
  );
  const skus = new Map(products.rows.map((p) => [p.id, p.sku]));
  const unknown = productIds.filter((id) => !skus.has(id));
  const warehouses = request.warehouseId
    ? [request.warehouseId]
    : (await ctx.tx.query<{ id: string }>(`SELECT id FROM ${s}.warehouses ORDER BY id COLLATE "C"`)).rows.map(
        (w) => w.id,
      );
  const warehouseKnown =
    !request.warehouseId ||
    (await ctx.tx.query(`SELECT 1 FROM ${s}.warehouses WHERE id = $1`, [request.warehouseId])).rowCount === 1;

  let best: Shortfall[] | null = null;
  for (const warehouseId of unknown.length > 0 || !warehouseKnown ? [] : warehouses) {
    const rows = await lockStock(ctx, warehouseId, productIds, 'existing');
    const short = shortfalls(rows, wanted, skus);
    if (short.length === 0) return reserveIn(ctx, request, warehouseId, rows, wanted, products.rows);
    if (!best || short.length < best.length) best = short;
  }
  const failedItems =
    best ??
    [...wanted].map(([productId, q]) => ({
      productId,
      sku: skus.get(productId) ?? productId,
      requestedQuantity: q,
      availableQuantity: 0,
    }));
  const reason =
    unknown.length > 0
      ? `unknown products: ${unknown.join(', ')}`
      : warehouseKnown
        ? 'insufficient stock'
        : `unknown warehouse: ${request.warehouseId}`;
  await ctx.emit([
    StockReservationFailed({ orderId: request.orderId, failureReason: reason, failedItems }, eventOptions(ctx)),
  ]);
  return { reserved: false, reason, failedItems };
}

async function reserveIn(
  ctx: StockContext,
  request: ReserveRequest,
  warehouseId: string,
  rows: Map<string, StockRow>,
  wanted: Map<string, number>,
  products: { id: string; sku: string; unit_price_cents: number }[],
): Promise<ReserveResult> {
  const s = ctx.schema;
  const reservationId = uuidv7();
  const expiresAt = new Date(Date.now() + request.ttlMs).toISOString();
  await ctx.tx.query(
    `INSERT INTO ${s}.reservations (id, order_id, warehouse_id, status, expires_at, correlation_id, origin)
     VALUES ($1, $2, $3, 'ACTIVE', $4, $5, $6)`,
    [reservationId, request.orderId, warehouseId, expiresAt, ctx.correlationId ?? null, request.origin],
  );
  const price = new Map(products.map((p) => [p.id, p.unit_price_cents]));
  for (const [productId, q] of wanted) {
    await ctx.tx.query(
      `INSERT INTO ${s}.reservation_items (reservation_id, product_id, quantity, unit_price_cents) VALUES ($1, $2, $3, $4)`,
      [reservationId, productId, q, price.get(productId) ?? 0],
    );
  }
  const reference = { type: 'order', id: request.orderId };
  const items = [...wanted].map(([productId, q]) => ({ row: rows.get(productId) as StockRow, q }));
  const event = StockReserved(
    {
      reservationId,
      orderId: request.orderId,
      warehouseId,
      items: items.map(({ row, q }) => ({
        productId: row.product_id,
        sku: row.sku,
        quantityReserved: q,
        unitPriceCents: price.get(row.product_id) ?? 0,
      })),
      expiresAt,
    },
    eventOptions(ctx),
  );
  const changes = items.map(({ row, q }) => ({
    row,
    type: 'RESERVATION' as const,
    quantity: q,
    onHandDelta: 0,
    reservedDelta: q,
    reference,
  }));
  await applyMovement(ctx, uuidv7(), changes, [event]);
  return { reserved: true, reservationId, warehouseId, expiresAt };
}

export interface Reservation {
  id: string;
  order_id: string;
  warehouse_id: string;
  status: 'ACTIVE' | 'RELEASED' | 'FULFILLED';
  correlation_id: string | null;
  origin: 'order' | 'api';
}

const columns = 'id, order_id, warehouse_id, status, correlation_id, origin';

async function lockReservation(ctx: StockContext, where: string, value: string): Promise<Reservation | null> {
  const { rows } = await ctx.tx.query<Reservation>(
    `SELECT ${columns} FROM ${ctx.schema}.reservations
      WHERE ${where} = $1 ORDER BY (status = 'ACTIVE') DESC, created_at DESC LIMIT 1 FOR UPDATE`,
    [value],
  );
  return rows[0] ?? null;
}

async function itemsOf(ctx: StockContext, r: Reservation) {
  const { rows } = await ctx.tx.query<{ product_id: string; quantity: number }>(
    `SELECT product_id, quantity FROM ${ctx.schema}.reservation_items WHERE reservation_id = $1 ORDER BY product_id`,
    [r.id],
  );
  const stock = await lockStock(
    ctx,
    r.warehouse_id,
    rows.map((i) => i.product_id),
  );
  return rows.map((i) => ({ row: stock.get(i.product_id) as StockRow, q: i.quantity }));
}

/** The reservation of an order, or by its id. */
export const findReservation = (ctx: StockContext, by: { orderId?: string; id?: string }) =>
  by.id ? lockReservation(ctx, 'id', by.id) : lockReservation(ctx, 'order_id', by.orderId ?? '');

/** Gives an active reservation's stock back; false when it was no longer active (nothing to do). */
export async function release(ctx: StockContext, r: Reservation, reason: string): Promise<boolean> {
  if (r.status !== 'ACTIVE') return false;
  const items = await itemsOf(ctx, r);
  await ctx.tx.query(
    `UPDATE ${ctx.schema}.reservations SET status = 'RELEASED', release_reason = $2, updated_at = now() WHERE id = $1`,
    [r.id, reason],
  );
  const event = StockReleased(
    {
      reservationId: r.id,
      orderId: r.order_id,
      warehouseId: r.warehouse_id,
      releaseReason: reason,
      items: items.map(({ row, q }) => ({ productId: row.product_id, sku: row.sku, quantityReleased: q })),
    },
    eventOptions(ctx),
  );
  const reference = { type: 'reservation', id: r.id };
  const changes = items.map(({ row, q }) => ({
    row,
    type: 'RELEASE' as const,
    quantity: q,
    onHandDelta: 0,
    reservedDelta: -q,
    reference,
    reason,
  }));
  await applyMovement(ctx, uuidv7(), changes, [event]);
  return true;
}

export type FulfilResult = { fulfilled: true } | { fulfilled: false; shortfalls: Shortfall[] };

/**
 * Takes a fulfilled order's goods out of stock: the reserved ones, or, when the reservation
 * expired before the order was paid, the same quantities from what is available now; if they are
 * not there any more, nothing changes and the result says what is short.
 */
export async function fulfil(ctx: StockContext, r: Reservation): Promise<FulfilResult> {
  if (r.status === 'FULFILLED') return { fulfilled: true };
  const held = r.status === 'ACTIVE';
  const items = await itemsOf(ctx, r);
  const short = held ? [] : items.filter(({ row, q }) => available(row) < q);
  if (short.length > 0) {
    const shortfalls = short.map(({ row, q }) => ({
      productId: row.product_id,
      sku: row.sku,
      requestedQuantity: q,
      availableQuantity: Math.max(0, available(row)),
    }));
    return { fulfilled: false, shortfalls };
  }
  await ctx.tx.query(`UPDATE ${ctx.schema}.reservations SET status = 'FULFILLED', updated_at = now() WHERE id = $1`, [
    r.id,
  ]);
  const movementId = uuidv7();
  const event = StockDecremented(
    {
      movementId,
      reservationId: r.id,
      orderId: r.order_id,
      warehouseId: r.warehouse_id,
      items: items.map(({ row, q }) => ({
        productId: row.product_id,
        sku: row.sku,
        quantityDecremented: q,
        remainingStock: row.on_hand - q,
      })),
    },
    eventOptions(ctx),
  );
  const reference = { type: 'order', id: r.order_id };
  const changes = items.map(({ row, q }) => ({
    row,
    type: 'DECREMENT' as const,
    quantity: q,
    onHandDelta: -q,
    reservedDelta: held ? -q : 0,
    reference,
    ...(held ? {} : { reason: 'reservation had expired' }),
  }));
  await applyMovement(ctx, movementId, changes, [event]);
  return { fulfilled: true };
}

/** Releases a reservation if it is still active and past its expiry; rows another transaction holds are skipped. */
export async function releaseIfExpired(ctx: StockContext, reservationId: string): Promise<boolean> {
  const { rows } = await ctx.tx.query<Reservation>(
    `SELECT ${columns} FROM ${ctx.schema}.reservations
      WHERE id = $1 AND status = 'ACTIVE' AND expires_at <= now() FOR UPDATE SKIP LOCKED`,
    [reservationId],
  );
  return rows[0] ? release(ctx, rows[0], 'EXPIRED') : false;
}
