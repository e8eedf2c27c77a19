// Goods coming in (replenishment), corrections (adjustment), and moves between warehouses
// (transfer): each one movement, recorded and announced.
import { uuidv7 } from 'herald';
import { InventoryError } from '../errors.ts';
import { StockReplenished } from '../events.ts';
import { eventOptions, type StockContext } from './context.ts';
import { alertFor, applyMovement, available, lockStock, type StockRow } from './stock.ts';

export interface ReplenishRequest {
  warehouseId: string;
  items: { productId: string; quantity: number }[];
  supplierId?: string | undefined;
  /** A delivery's reference: replenishing a warehouse twice with one reference adds the goods once. */
  reference?: string | undefined;
}

/** Adds goods; returns the movement id and whether it was new (false: that reference was already booked). */
export async function replenish(
  ctx: StockContext,
  r: ReplenishRequest,
): Promise<{ movementId: string; created: boolean }> {
  const s = ctx.schema;
  if (r.reference) {
    // The lock makes two requests with one reference wait for each other rather than both add.
    await ctx.tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
      `${s}.replenish.${r.warehouseId}.${r.reference}`,
    ]);
    const seen = await ctx.tx.query<{ id: string }>(
      `SELECT id FROM ${s}.movements WHERE reference_type = 'delivery' AND reference_id = $1 AND warehouse_id = $2 LIMIT 1`,
      [r.reference, r.warehouseId],
    );
    if (seen.rows[0]) return { movementId: seen.rows[0].id, created: false };
  }
  const wanted = new Map<string, number>();
  for (const i of r.items) wanted.set(i.productId, (wanted.get(i.productId) ?? 0) + i.quantity);
  const rows = await lockStock(ctx, r.warehouseId, [...wanted.keys()], 'create');
  const movementId = uuidv7();
  const items = [...wanted].map(([productId, q]) => ({ row: rows.get(productId) as StockRow, q }));
  const event = StockReplenished(
    {
      movementId,
      warehouseId: r.warehouseId,
      ...(r.supplierId ? { supplierId: r.supplierId } : {}),
      ...(r.reference ? { referenceNumber: r.reference } : {}),
      items: items.map(({ row, q }) => ({
        productId: row.product_id,
        sku: row.sku,
        quantityReplenished: q,
        newStockLevel: row.on_hand + q,
      })),
    },
    eventOptions(ctx),
  );
  const reference = r.reference ? { type: 'delivery', id: r.reference } : undefined;
  const changes = items.map(({ row, q }) => ({
    row,
    type: 'REPLENISHMENT' as const,
    quantity: q,
    onHandDelta: q,
    reservedDelta: 0,
    ...(reference ? { reference } : {}),
  }));
  await applyMovement(ctx, movementId, changes, [event]);
  return { movementId, created: true };
}

/** Corrects the count on hand (a stocktake, damage): never below what is reserved. */
export async function adjust(
  ctx: StockContext,
  a: { productId: string; warehouseId: string; quantity: number; reason: string },
): Promise<string> {
  const row = (await lockStock(ctx, a.warehouseId, [a.productId])).get(a.productId) as StockRow;
  if (row.on_hand + a.quantity < row.reserved) {
    throw new InventoryError(
      409,
      'INSUFFICIENT_STOCK',
      `cannot adjust ${row.sku} by ${a.quantity}: ${row.on_hand} on hand, ${row.reserved} reserved`,
      { onHand: row.on_hand, reserved: row.reserved },
    );
  }
  const movementId = uuidv7();
  const change = { row, type: 'ADJUSTMENT' as const, quantity: Math.abs(a.quantity), reservedDelta: 0 };
  await applyMovement(ctx, movementId, [{ ...change, onHandDelta: a.quantity, reason: a.reason }]);
  return movementId;
}

/** Moves available goods from one warehouse to another. */
export async function transfer(
  ctx: StockContext,
  t: { productId: string; fromWarehouseId: string; toWarehouseId: string; quantity: number },
): Promise<string> {
  if (t.fromWarehouseId === t.toWarehouseId) {
    throw new InventoryError(400, 'INVALID_REQUEST', 'a transfer needs two different warehouses');
  }
  // Lock in warehouse order, as every other path does, so two opposite transfers cannot deadlock.
  const [first, second] = [t.fromWarehouseId, t.toWarehouseId].sort();
  const locked = new Map<string, StockRow>();
  for (const w of [first, second] as string[]) {
    const mode = w === t.toWarehouseId ? 'create' : 'require';
    locked.set(w, (await lockStock(ctx, w, [t.productId], mode)).get(t.productId) as StockRow);
  }
  const from = locked.get(t.fromWarehouseId) as StockRow;
  const to = locked.get(t.toWarehouseId) as StockRow;
  if (available(from) < t.quantity) {
    throw new InventoryError(
      409,
      'INSUFFICIENT_STOCK',
      `cannot transfer ${t.quantity} ${from.sku}: ${available(from)} available in ${t.fromWarehouseId}`,
      { available: available(from) },
    );
  }
  const movementId = uuidv7();
  const reference = { type: 'transfer', id: movementId };
  const base = { type: 'TRANSFER' as const, quantity: t.quantity, reservedDelta: 0, reference };
  await applyMovement(ctx, movementId, [
    { ...base, row: from, onHandDelta: -t.quantity },
    { ...base, row: to, onHandDelta: t.quantity },
  ]);
  return movementId;
}

/** Sets the level under which alerts are raised, and raises one if the stock is already under it. */
export async function setMinimum(
  ctx: StockContext,
  m: { productId: string; warehouseId: string; minimum: number },
): Promise<void> {
  const row = (await lockStock(ctx, m.warehouseId, [m.productId], 'create')).get(m.productId) as StockRow;
  row.minimum = m.minimum;
  const alert = alertFor(ctx, row);
  await ctx.tx.query(
    `UPDATE ${ctx.schema}.stock SET minimum = $3, alert_level = $4, updated_at = now()
      WHERE product_id = $1 AND warehouse_id = $2`,
    [m.productId, m.warehouseId, m.minimum, row.alert_level],
  );
  if (alert) await ctx.emit([alert]);
}
