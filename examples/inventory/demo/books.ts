// The summary's checks, computed from the services' own tables and Herald's logs and inboxes:
// what was written, what each consumer group handled, and whether stock adds up.
import type { Queryable } from 'herald';
import type { Schemas } from '../schema.ts';
import type { System } from './system.ts';

export interface Summary {
  orders: number;
  /** Events written to the services' outboxes. */
  events: number;
  /** Events written but not handled by a group that consumes their type. */
  lost: number;
  /** Effects applied more than once for one event. */
  appliedTwice: number;
  /** Stock rows with less than nothing on hand, or more reserved than on hand. */
  oversold: number;
  stockConserved: boolean;
  unsettledOrders: number;
}

export interface Books extends Summary {
  ordersByStatus: Record<string, number>;
  eventsByType: Record<string, number>;
  /** Why stockConserved is false, one line per finding; empty when it holds. */
  findings: string[];
}

const n = (v: unknown) => Number(v ?? 0);

/** Which group handles which types, and in which schema its inbox is. */
function consumers(s: Schemas, g: System['groups']) {
  return [
    { schema: s.inventory, group: g.inventory, types: ['order.created', 'order.cancelled', 'order.fulfilled'] },
    { schema: s.inventory, group: g.purchasing, types: ['inventory.stock.low_stock_alert'] },
    {
      schema: s.orders,
      group: g.orders,
      types: [
        'inventory.stock.reserved',
        'inventory.stock.reservation_failed',
        'inventory.stock.released',
        'inventory.stock.decremented',
        'payment.charged',
        'payment.failed',
      ],
    },
    { schema: s.payments, group: g.payments, types: ['payment.requested', 'order.cancelled'] },
    { schema: s.monitor, group: g.monitor, types: null },
  ];
}

const allEvents = (s: Schemas) =>
  [s.inventory, s.orders, s.payments]
    .map((schema) => `SELECT id::text AS id, type FROM ${schema}.log`)
    .join(' UNION ALL ');

/** Events some group should have handled and has not: 0 once the system has caught up. */
export async function countUnhandled(db: Queryable, s: Schemas, g: System['groups']): Promise<number> {
  const list = consumers(s, g);
  const missing = list
    .map(
      (c, i) => `SELECT e.id FROM events e WHERE (e.type = ANY($${2 * i + 2}::text[]) OR $${2 * i + 2} IS NULL)
        AND NOT EXISTS (SELECT 1 FROM ${c.schema}.inbox i WHERE i.consumer_group = $${2 * i + 1} AND i.event_id = e.id)`,
    )
    .join(' UNION ');
  const params = list.flatMap((c) => [c.group, c.types]);
  const { rows } = await db.query<{ n: string }>(
    `WITH events AS (${allEvents(s)}) SELECT count(*) AS n FROM (${missing}) m`,
    params,
  );
  return n(rows[0]?.n);
}

export async function countUnsettled(db: Queryable, s: Schemas): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM ${s.orders}.orders WHERE status NOT IN ('COMPLETED', 'CANCELLED', 'REJECTED', 'EXPIRED')`,
  );
  return n(rows[0]?.n);
}

export async function audit(db: Queryable, system: Pick<System, 'schemas' | 'groups'>): Promise<Books> {
  const { schemas: s, groups: g } = system;
  const one = async (sql: string) => n((await db.query<{ n: string }>(sql)).rows[0]?.n);
  const findings: string[] = [];

  const byStatus = (
    await db.query<{ status: string; n: string }>(
      `SELECT status, count(*) AS n FROM ${s.orders}.orders GROUP BY 1 ORDER BY 1`,
    )
  ).rows;
  const byType = (
    await db.query<{ type: string; n: string }>(
      `SELECT type, count(*) AS n FROM (${allEvents(s)}) e GROUP BY 1 ORDER BY 1`,
    )
  ).rows;

  // Twice in effect: a delivery the monitor recorded twice, a movement booked twice for one
  // event, a payment request charged twice, or one event causing the same reaction twice.
  const twiceSeen = await one(
    `SELECT count(*) AS n FROM (SELECT event_id FROM ${s.monitor}.seen GROUP BY 1 HAVING count(*) > 1) d`,
  );
  const twiceMoved = await one(
    `SELECT count(*) AS n FROM (SELECT 1 FROM ${s.inventory}.movements WHERE caused_by IS NOT NULL
      GROUP BY caused_by, product_id, warehouse_id, type HAVING count(*) > 1) d`,
  );
  const twiceCharged = await one(
    `SELECT count(*) AS n FROM (SELECT order_id FROM ${s.payments}.payments GROUP BY 1 HAVING count(*) > 1) d`,
  );
  const reactions = [s.inventory, s.orders, s.payments]
    .map(
      (schema) => `SELECT causation_id, type FROM ${schema}.log WHERE causation_id IS NOT NULL
        AND type NOT IN ('inventory.stock.movement_recorded', 'inventory.stock.low_stock_alert')`,
    )
    .join(' UNION ALL ');
  const twiceReacted = await one(
    `SELECT count(*) AS n FROM (SELECT 1 FROM (${reactions}) r GROUP BY causation_id, type HAVING count(*) > 1) d`,
  );

  const oversold = await one(
    `SELECT count(*) AS n FROM ${s.inventory}.stock WHERE on_hand < 0 OR reserved < 0 OR reserved > on_hand`,
  );

  // The books: every stock row equals the sum of its movements; what is reserved equals the
  // active reservations; what left equals what completed orders took, product by product.
  const offBooks = await db.query<{
    product_id: string;
    warehouse_id: string;
    on_hand: number;
    booked: string;
    reserved: number;
    booked_reserved: string;
  }>(
    `SELECT st.product_id, st.warehouse_id, st.on_hand, coalesce(sum(m.on_hand_delta), 0) AS booked,
            st.reserved, coalesce(sum(m.reserved_delta), 0) AS booked_reserved
       FROM ${s.inventory}.stock st LEFT JOIN ${s.inventory}.movements m USING (product_id, warehouse_id)
      GROUP BY 1, 2, 3, 5 HAVING st.on_hand <> coalesce(sum(m.on_hand_delta), 0) OR st.reserved <> coalesce(sum(m.reserved_delta), 0)`,
  );
  for (const r of offBooks.rows) {
    findings.push(
      `${r.product_id}@${r.warehouse_id}: ${r.on_hand} on hand / ${r.reserved} reserved, movements say ${r.booked} / ${r.booked_reserved}`,
    );
  }
  const offReserved = await db.query<{ product_id: string; warehouse_id: string; reserved: number; active: string }>(
    `SELECT st.product_id, st.warehouse_id, st.reserved, coalesce(a.q, 0) AS active FROM ${s.inventory}.stock st
       LEFT JOIN (SELECT i.product_id, r.warehouse_id, sum(i.quantity) AS q FROM ${s.inventory}.reservations r
                    JOIN ${s.inventory}.reservation_items i ON i.reservation_id = r.id WHERE r.status = 'ACTIVE' GROUP BY 1, 2) a
         USING (product_id, warehouse_id)
      WHERE st.reserved <> coalesce(a.q, 0)`,
  );
  for (const r of offReserved.rows)
    findings.push(`${r.product_id}@${r.warehouse_id}: ${r.reserved} reserved, active reservations hold ${r.active}`);
  const offShipped = await db.query<{ product_id: string; shipped: string; ordered: string }>(
    `WITH shipped AS (SELECT product_id, -sum(on_hand_delta) AS q FROM ${s.inventory}.movements WHERE type = 'DECREMENT' GROUP BY 1),
          ordered AS (SELECT i->>'productId' AS product_id, sum((i->>'quantity')::int) AS q
                        FROM ${s.orders}.orders o, jsonb_array_elements(o.items) i WHERE o.status = 'COMPLETED' GROUP BY 1)
     SELECT product_id, coalesce(shipped.q, 0) AS shipped, coalesce(ordered.q, 0) AS ordered
       FROM shipped FULL JOIN ordered USING (product_id) WHERE coalesce(shipped.q, 0) <> coalesce(ordered.q, 0)`,
  );
  for (const r of offShipped.rows)
    findings.push(`${r.product_id}: ${r.shipped} shipped, completed orders took ${r.ordered}`);
  const settledButHeld = await one(
    `SELECT count(*) AS n FROM ${s.inventory}.reservations r JOIN ${s.orders}.orders o ON o.id = r.order_id
      WHERE r.status = 'ACTIVE' AND o.status IN ('COMPLETED', 'CANCELLED', 'REJECTED', 'EXPIRED')`,
  );
  if (settledButHeld > 0) findings.push(`${settledButHeld} settled orders still hold a reservation`);

  const ordersByStatus = Object.fromEntries(byStatus.map((r) => [r.status, n(r.n)]));
  const eventsByType = Object.fromEntries(byType.map((r) => [r.type, n(r.n)]));
  return {
    orders: Object.values(ordersByStatus).reduce((a, b) => a + b, 0),
    events: Object.values(eventsByType).reduce((a, b) => a + b, 0),
    lost: await countUnhandled(db, s, g),
    appliedTwice: twiceSeen + twiceMoved + twiceCharged + twiceReacted,
    oversold,
    stockConserved: findings.length === 0 && oversold === 0,
    unsettledOrders: await countUnsettled(db, s),
    ordersByStatus,
    eventsByType,
    findings,
  };
}

/** Waits until every order is settled and every event handled by its groups; false at the deadline. */
export async function waitUntilSettled(
  db: Queryable,
  system: Pick<System, 'schemas' | 'groups'>,
  timeoutMs: number,
  onTick: () => Promise<void> = async () => {},
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await onTick();
    if (
      (await countUnhandled(db, system.schemas, system.groups)) === 0 &&
      (await countUnsettled(db, system.schemas)) === 0
    ) {
      return true;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}
