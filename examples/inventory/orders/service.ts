// The order service the simulator drives: an order and its `order.created` event in one
// transaction, through the order service's own outbox. The order id is the correlation id of
// every event the order causes, in every service.
import { createOutbox, type Outbox, uuidv7, withTransaction } from 'herald';
import type { PoolLike } from '../db.ts';
import { OrderCreated } from '../events.ts';

/** What the simulated customer will do: pay, be declined, cancel, walk away, or pay after the reservation expired. */
export type Plan = 'pay' | 'decline' | 'cancel' | 'abandon' | 'late';
export const settled = ['COMPLETED', 'CANCELLED', 'REJECTED', 'EXPIRED'] as const;

export interface NewOrder {
  customerId: string;
  warehouseId?: string;
  items: { productId: string; sku: string; quantity: number; unitPriceCents: number }[];
  plan: Plan;
}

export function orderService(
  db: PoolLike,
  schema: string,
): { outbox: Outbox; place(order: NewOrder): Promise<string> } {
  const outbox = createOutbox({ schema, source: '/orders' });
  return {
    outbox,
    // #region place
    async place(order) {
      const orderId = uuidv7();
      const total = order.items.reduce((sum, i) => sum + i.quantity * i.unitPriceCents, 0);
      await withTransaction(db, async (tx) => {
        await tx.query(
          `INSERT INTO ${schema}.orders (id, customer_id, warehouse_id, items, total_cents, plan, status)
           VALUES ($1, $2, $3, $4, $5, $6, 'PENDING')`,
          [orderId, order.customerId, order.warehouseId ?? null, JSON.stringify(order.items), total, order.plan],
        );
        const { customerId, warehouseId, items } = order;
        const payload = { orderId, customerId, items, ...(warehouseId ? { warehouseId } : {}) };
        await outbox.add(tx, OrderCreated(payload, { correlationId: orderId }));
      });
      return orderId;
    },
    // #endregion place
  };
}
