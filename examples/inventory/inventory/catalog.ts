// Products, warehouses, and the read side: stock levels, reservations, movement history.
import { type Queryable, uuidv7 } from 'herald';
import { InventoryError, notFound } from '../errors.ts';
import { ItemCreated, ItemDeactivated, ItemUpdated, WarehouseCreated, WarehouseUpdated } from '../events.ts';
import { eventOptions, type StockContext } from './context.ts';

/**
 * Inserts one catalog row and returns it; a unique key it hits is a 409 naming the key: the id,
 * or the natural one (a product's sku, a warehouse's code).
 */
async function insertUnique<R>(
  db: Queryable,
  sql: string,
  values: unknown[],
  what: string,
  keys: { id: string; natural: [string, string] },
) {
  try {
    return (await db.query<R>(sql, values)).rows[0] as R;
  } catch (e) {
    const { code, constraint } = e as { code?: string; constraint?: string };
    if (code !== '23505') throw e;
    const [name, value] = constraint?.endsWith('_pkey') ? ['id', keys.id] : keys.natural;
    throw new InventoryError(409, 'CONFLICT', `a ${what} with ${name} ${value} exists`);
  }
}

/** 404 for the first product or warehouse named that does not exist; 409 for a deactivated product. */
export async function requireCatalog(db: Queryable, s: string, productIds: string[], warehouseId?: string | undefined) {
  const { rows } = await db.query<{ id: string; active: boolean }>(
    `SELECT id, active FROM ${s}.products WHERE id = ANY($1)`,
    [productIds],
  );
  const known = new Map(rows.map((r) => [r.id, r.active]));
  const unknown = productIds.find((id) => !known.has(id));
  if (unknown !== undefined) throw notFound('product', unknown);
  const inactive = productIds.find((id) => known.get(id) === false);
  if (inactive !== undefined) {
    throw new InventoryError(409, 'ITEM_DEACTIVATED', `product ${inactive} is deactivated: it cannot be reserved`);
  }
  if (warehouseId && (await db.query(`SELECT 1 FROM ${s}.warehouses WHERE id = $1`, [warehouseId])).rowCount === 0) {
    throw notFound('warehouse', warehouseId);
  }
}

const productColumns = `id, sku, name, unit_price_cents AS "unitPriceCents", active`;
interface ProductRow {
  id: string;
  sku: string;
  name: string;
  unitPriceCents: number;
  active: boolean;
}

// #region create-item
/** A new item of the catalog and its `item.created` event, in one transaction. */
export async function createProduct(
  ctx: StockContext,
  p: { id?: string | undefined; sku: string; name: string; unitPriceCents?: number | undefined },
) {
  const id = p.id ?? uuidv7();
  const row = await insertUnique<ProductRow>(
    ctx.tx,
    `INSERT INTO ${ctx.schema}.products (id, sku, name, unit_price_cents) VALUES ($1, $2, $3, $4)
     RETURNING ${productColumns}, created_at AS "createdAt"`,
    [id, p.sku, p.name, p.unitPriceCents ?? 0],
    'product',
    { id, natural: ['sku', p.sku] },
  );
  await ctx.emit([
    ItemCreated(
      { itemId: row.id, sku: row.sku, name: row.name, unitPriceCents: row.unitPriceCents },
      eventOptions(ctx),
    ),
  ]);
  return row;
}
// #endregion create-item

/** Renames or reprices an item: `item.updated` names what changed; no change writes nothing. */
export async function updateProduct(
  ctx: StockContext,
  id: string,
  change: { name?: string | undefined; unitPriceCents?: number | undefined },
) {
  const { rows } = await ctx.tx.query<ProductRow>(
    `SELECT ${productColumns} FROM ${ctx.schema}.products WHERE id = $1 FOR UPDATE`,
    [id],
  );
  const before = rows[0];
  if (!before) throw notFound('product', id);
  const changed = (['name', 'unitPriceCents'] as const).filter(
    (k) => change[k] !== undefined && change[k] !== before[k],
  );
  if (changed.length === 0) return before;
  const after = (
    await ctx.tx.query<ProductRow>(
      `UPDATE ${ctx.schema}.products SET name = $2, unit_price_cents = $3 WHERE id = $1 RETURNING ${productColumns}`,
      [id, change.name ?? before.name, change.unitPriceCents ?? before.unitPriceCents],
    )
  ).rows[0] as ProductRow;
  await ctx.emit([
    ItemUpdated(
      { itemId: id, sku: after.sku, name: after.name, unitPriceCents: after.unitPriceCents, changed },
      eventOptions(ctx),
    ),
  ]);
  return after;
}

/** Takes an item out of sale: it can no longer be reserved; stock already held stays. Idempotent. */
export async function deactivateProduct(ctx: StockContext, id: string, reason: string) {
  const { rows } = await ctx.tx.query<ProductRow>(
    `UPDATE ${ctx.schema}.products SET active = false WHERE id = $1 AND active RETURNING ${productColumns}`,
    [id],
  );
  const row = rows[0];
  if (!row) return getProduct(ctx.tx, ctx.schema, id); // already inactive, or a 404
  await ctx.emit([ItemDeactivated({ itemId: id, sku: row.sku, reason }, eventOptions(ctx))]);
  return row;
}

export async function createWarehouse(ctx: StockContext, w: { id?: string | undefined; code: string; name: string }) {
  const id = w.id ?? uuidv7();
  const row = await insertUnique<{ id: string; code: string; name: string }>(
    ctx.tx,
    `INSERT INTO ${ctx.schema}.warehouses (id, code, name) VALUES ($1, $2, $3) RETURNING id, code, name, created_at AS "createdAt"`,
    [id, w.code, w.name],
    'warehouse',
    { id, natural: ['code', w.code] },
  );
  await ctx.emit([WarehouseCreated({ warehouseId: row.id, code: row.code, name: row.name }, eventOptions(ctx))]);
  return row;
}

/** Renames a warehouse, with `warehouse.updated`; no change writes nothing. */
export async function updateWarehouse(ctx: StockContext, id: string, change: { name: string }) {
  const { rows } = await ctx.tx.query<{ id: string; code: string; name: string }>(
    `SELECT id, code, name FROM ${ctx.schema}.warehouses WHERE id = $1 FOR UPDATE`,
    [id],
  );
  const before = rows[0];
  if (!before) throw notFound('warehouse', id);
  if (before.name === change.name) return before;
  await ctx.tx.query(`UPDATE ${ctx.schema}.warehouses SET name = $2 WHERE id = $1`, [id, change.name]);
  const after = { ...before, name: change.name };
  await ctx.emit([
    WarehouseUpdated({ warehouseId: id, code: after.code, name: after.name, changed: ['name'] }, eventOptions(ctx)),
  ]);
  return after;
}

export const listProducts = async (db: Queryable, s: string) =>
  (await db.query(`SELECT ${productColumns} FROM ${s}.products ORDER BY sku LIMIT 1000`)).rows;

export async function getProduct(db: Queryable, s: string, id: string) {
  const { rows } = await db.query(`SELECT ${productColumns} FROM ${s}.products WHERE id = $1`, [id]);
  if (!rows[0]) throw notFound('product', id);
  return rows[0];
}

export const listWarehouses = async (db: Queryable, s: string) =>
  (await db.query(`SELECT id, code, name FROM ${s}.warehouses ORDER BY code LIMIT 1000`)).rows;

export async function listStock(
  db: Queryable,
  s: string,
  f: { productId?: string | undefined; warehouseId?: string | undefined },
) {
  const { rows } = await db.query(
    `SELECT st.product_id AS "productId", p.sku, st.warehouse_id AS "warehouseId", st.on_hand AS "onHand",
            st.reserved, st.on_hand - st.reserved AS available, st.minimum, st.alert_level AS "alertLevel"
       FROM ${s}.stock st JOIN ${s}.products p ON p.id = st.product_id
      WHERE ($1::text IS NULL OR st.product_id = $1) AND ($2::text IS NULL OR st.warehouse_id = $2)
      ORDER BY p.sku, st.warehouse_id LIMIT 1000`,
    [f.productId ?? null, f.warehouseId ?? null],
  );
  return rows;
}

export async function getReservation(db: Queryable, s: string, id: string) {
  const { rows } = await db.query(
    `SELECT r.id, r.order_id AS "orderId", r.warehouse_id AS "warehouseId", r.status,
            r.release_reason AS "releaseReason", r.expires_at AS "expiresAt",
            (SELECT json_agg(json_build_object('productId', i.product_id, 'quantity', i.quantity) ORDER BY i.product_id)
               FROM ${s}.reservation_items i WHERE i.reservation_id = r.id) AS items
       FROM ${s}.reservations r WHERE r.id = $1`,
    [id],
  );
  if (!rows[0]) throw notFound('reservation', id);
  return rows[0];
}

export async function listMovements(
  db: Queryable,
  s: string,
  f: { productId?: string | undefined; warehouseId?: string | undefined; limit: number },
) {
  const { rows } = await db.query(
    `SELECT id, product_id AS "productId", warehouse_id AS "warehouseId", type, quantity,
            on_hand_delta AS "onHandDelta", reserved_delta AS "reservedDelta",
            previous_stock AS "previousStock", new_stock AS "newStock", reference_type AS "referenceType",
            reference_id AS "referenceId", reason, performed_by AS "performedBy", created_at AS "createdAt"
       FROM ${s}.movements
      WHERE ($1::text IS NULL OR product_id = $1) AND ($2::text IS NULL OR warehouse_id = $2)
      ORDER BY seq DESC LIMIT $3`,
    [f.productId ?? null, f.warehouseId ?? null, f.limit],
  );
  return rows;
}
