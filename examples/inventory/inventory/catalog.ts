// Products, warehouses, and the read side: stock levels, reservations, movement history.
import { type Queryable, uuidv7 } from 'herald';
import { InventoryError, notFound } from '../errors.ts';

/**
 * Inserts one catalog row and returns it; a unique key it hits is a 409 naming the key: the id,
 * or the natural one (a product's sku, a warehouse's code).
 */
async function insertUnique(
  db: Queryable,
  sql: string,
  values: unknown[],
  what: string,
  keys: { id: string; natural: [string, string] },
) {
  try {
    return (await db.query(sql, values)).rows[0];
  } catch (e) {
    const { code, constraint } = e as { code?: string; constraint?: string };
    if (code !== '23505') throw e;
    const [name, value] = constraint?.endsWith('_pkey') ? ['id', keys.id] : keys.natural;
    throw new InventoryError(409, 'CONFLICT', `a ${what} with ${name} ${value} exists`);
  }
}

/** 404 for the first product or warehouse named that does not exist. */
export async function requireCatalog(db: Queryable, s: string, productIds: string[], warehouseId?: string | undefined) {
  const { rows } = await db.query<{ id: string }>(`SELECT id FROM ${s}.products WHERE id = ANY($1)`, [productIds]);
  const known = new Set(rows.map((r) => r.id));
  const unknown = productIds.find((id) => !known.has(id));
  if (unknown !== undefined) throw notFound('product', unknown);
  if (warehouseId && (await db.query(`SELECT 1 FROM ${s}.warehouses WHERE id = $1`, [warehouseId])).rowCount === 0) {
    throw notFound('warehouse', warehouseId);
  }
}

export function createProduct(
  db: Queryable,
  s: string,
  p: { id?: string | undefined; sku: string; name: string; unitPriceCents?: number | undefined },
) {
  const id = p.id ?? uuidv7();
  return insertUnique(
    db,
    `INSERT INTO ${s}.products (id, sku, name, unit_price_cents) VALUES ($1, $2, $3, $4)
     RETURNING id, sku, name, unit_price_cents AS "unitPriceCents", created_at AS "createdAt"`,
    [id, p.sku, p.name, p.unitPriceCents ?? 0],
    'product',
    { id, natural: ['sku', p.sku] },
  );
}

export function createWarehouse(db: Queryable, s: string, w: { id?: string | undefined; code: string; name: string }) {
  const id = w.id ?? uuidv7();
  return insertUnique(
    db,
    `INSERT INTO ${s}.warehouses (id, code, name) VALUES ($1, $2, $3) RETURNING id, code, name, created_at AS "createdAt"`,
    [id, w.code, w.name],
    'warehouse',
    { id, natural: ['code', w.code] },
  );
}

export const listProducts = async (db: Queryable, s: string) =>
  (
    await db.query(
      `SELECT id, sku, name, unit_price_cents AS "unitPriceCents" FROM ${s}.products ORDER BY sku LIMIT 1000`,
    )
  ).rows;

export async function getProduct(db: Queryable, s: string, id: string) {
  const { rows } = await db.query(
    `SELECT id, sku, name, unit_price_cents AS "unitPriceCents" FROM ${s}.products WHERE id = $1`,
    [id],
  );
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
