// The stock rows and what every change to them does: lock in one order (warehouse, product, by
// byte value: "C" collation in SQL, JavaScript's sort of ASCII ids) so concurrent requests queue
// instead of deadlocking, record the movement with its signed effect,
// and raise a low-stock alert when the level gets worse.
import { type OutboxEvent, uuidv7 } from 'herald';
import { InventoryError } from '../errors.ts';
import { LowStockAlert, MovementRecorded, type MovementType, type Severity } from '../events.ts';
import { eventOptions, type StockContext } from './context.ts';

export interface StockRow {
  product_id: string;
  warehouse_id: string;
  sku: string;
  product_name: string;
  warehouse_name: string;
  on_hand: number;
  reserved: number;
  minimum: number;
  alert_level: Severity | null;
}

export const available = (row: StockRow) => row.on_hand - row.reserved;

/**
 * Locks the stock rows of these products in one warehouse and returns them by product id. Rows
 * that do not exist are made (`create`, for products and warehouses that exist), left out
 * (`existing`), or a 404 (`require`).
 */
export async function lockStock(
  ctx: StockContext,
  warehouseId: string,
  productIds: string[],
  missing: 'create' | 'existing' | 'require' = 'require',
): Promise<Map<string, StockRow>> {
  const s = ctx.schema;
  const ids = [...new Set(productIds)].sort();
  if (missing === 'create') {
    const known = await ctx.tx.query<{ n: number }>(
      `SELECT (SELECT count(*)::int FROM ${s}.products WHERE id = ANY($1)) AS n
        WHERE EXISTS (SELECT 1 FROM ${s}.warehouses WHERE id = $2)`,
      [ids, warehouseId],
    );
    if (known.rows[0]?.n === ids.length) {
      await ctx.tx.query(
        `INSERT INTO ${s}.stock (product_id, warehouse_id) SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING`,
        [ids, warehouseId],
      );
    }
  }
  const { rows } = await ctx.tx.query<StockRow>(
    `SELECT st.product_id, st.warehouse_id, p.sku, p.name AS product_name, w.name AS warehouse_name,
            st.on_hand, st.reserved, st.minimum, st.alert_level
       FROM ${s}.stock st JOIN ${s}.products p ON p.id = st.product_id JOIN ${s}.warehouses w ON w.id = st.warehouse_id
      WHERE st.warehouse_id = $1 AND st.product_id = ANY($2)
      ORDER BY st.product_id COLLATE "C" FOR UPDATE OF st`,
    [warehouseId, ids],
  );
  const byProduct = new Map(rows.map((r) => [r.product_id, r]));
  const absent = ids.filter((id) => !byProduct.has(id));
  if (missing !== 'existing' && absent.length > 0) {
    throw new InventoryError(404, 'NOT_FOUND', `no stock of ${absent.join(', ')} in warehouse ${warehouseId}`, {
      productIds: absent,
      warehouseId,
    });
  }
  return byProduct;
}

export interface Change {
  row: StockRow;
  type: MovementType;
  /** The quantity moved, positive. */
  quantity: number;
  onHandDelta: number;
  reservedDelta: number;
  reference?: { type: string; id: string };
  reason?: string;
}

const severityRank: Record<Severity, number> = { WARNING: 1, CRITICAL: 2, OUT_OF_STOCK: 3 };

/** WARNING below the minimum, CRITICAL at half of it or less, OUT_OF_STOCK at nothing available. */
export function severityOf(availableNow: number, minimum: number): Severity | null {
  if (availableNow <= 0) return 'OUT_OF_STOCK';
  if (availableNow <= Math.floor(minimum / 2)) return 'CRITICAL';
  if (availableNow < minimum) return 'WARNING';
  return null;
}

/** The alert to raise when a row's level got worse than the last one raised; null otherwise. */
export function alertFor(ctx: StockContext, row: StockRow): OutboxEvent | null {
  const level = severityOf(available(row), row.minimum);
  const previous = row.alert_level;
  row.alert_level = level;
  if (level === null || (previous !== null && severityRank[level] <= severityRank[previous])) return null;
  return LowStockAlert(
    {
      alertId: uuidv7(),
      productId: row.product_id,
      sku: row.sku,
      productName: row.product_name,
      warehouseId: row.warehouse_id,
      warehouseName: row.warehouse_name,
      currentStock: available(row),
      minimumStock: row.minimum,
      severity: level,
    },
    eventOptions(ctx),
  );
}

/**
 * Applies changes that make one movement: updates each row, records it in the movements table,
 * and emits `movement_recorded` per row and any alert, with the `extra` events first.
 */
export async function applyMovement(
  ctx: StockContext,
  movementId: string,
  changes: Change[],
  extra: OutboxEvent[] = [],
): Promise<void> {
  const s = ctx.schema;
  const events = [...extra];
  for (const c of changes) {
    const physical = c.onHandDelta !== 0;
    const before = physical ? c.row.on_hand : available(c.row);
    c.row.on_hand += c.onHandDelta;
    c.row.reserved += c.reservedDelta;
    const after = physical ? c.row.on_hand : available(c.row);
    if (c.row.on_hand < 0 || c.row.reserved < 0 || c.row.reserved > c.row.on_hand) {
      throw new InventoryError(409, 'INSUFFICIENT_STOCK', `not enough ${c.row.sku} in ${c.row.warehouse_id}`);
    }
    const alert = alertFor(ctx, c.row);
    await ctx.tx.query(
      `UPDATE ${s}.stock SET on_hand = $3, reserved = $4, alert_level = $5, updated_at = now()
        WHERE product_id = $1 AND warehouse_id = $2`,
      [c.row.product_id, c.row.warehouse_id, c.row.on_hand, c.row.reserved, c.row.alert_level],
    );
    await ctx.tx.query(
      `INSERT INTO ${s}.movements (id, product_id, warehouse_id, type, quantity, on_hand_delta, reserved_delta,
         previous_stock, new_stock, reference_type, reference_id, reason, performed_by, caused_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
      [
        movementId,
        c.row.product_id,
        c.row.warehouse_id,
        c.type,
        c.quantity,
        c.onHandDelta,
        c.reservedDelta,
        before,
        after,
        c.reference?.type ?? null,
        c.reference?.id ?? null,
        c.reason ?? null,
        ctx.performedBy ?? null,
        ctx.causedBy ?? null,
      ],
    );
    events.push(
      MovementRecorded(
        {
          movementId,
          productId: c.row.product_id,
          sku: c.row.sku,
          warehouseId: c.row.warehouse_id,
          movementType: c.type,
          quantity: c.onHandDelta !== 0 ? c.onHandDelta : -c.reservedDelta,
          previousStock: before,
          newStock: after,
          ...(c.reference ? { referenceType: c.reference.type, referenceId: c.reference.id } : {}),
          ...(c.reason ? { reason: c.reason } : {}),
          ...(ctx.performedBy ? { performedBy: ctx.performedBy } : {}),
        },
        eventOptions(ctx),
      ),
    );
    if (alert) events.push(alert);
  }
  await ctx.emit(events);
}
