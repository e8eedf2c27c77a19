// The events of the inventory system (seed 000), declared once with their schemas. The relay
// sends each to the topic of its first segment (`order.created` -> `<prefix>.order`), so one
// order's events keep their order in one topic, keyed by the order id.
import { defineEvent } from 'herald';
import { z } from 'zod';

const id = z.string().min(1).max(100);
const quantity = z.number().int().positive();
const movementType = z.enum(['RESERVATION', 'RELEASE', 'DECREMENT', 'REPLENISHMENT', 'ADJUSTMENT', 'TRANSFER']);
export type MovementType = z.infer<typeof movementType>;
export const severities = ['WARNING', 'CRITICAL', 'OUT_OF_STOCK'] as const;
export type Severity = (typeof severities)[number];

// #region events
export const OrderCreated = defineEvent({
  type: 'order.created',
  version: 1,
  schema: z.object({
    orderId: id,
    customerId: id,
    warehouseId: id.optional(),
    items: z
      .array(z.object({ productId: id, sku: id, quantity, unitPriceCents: z.number().int().nonnegative() }))
      .min(1),
  }),
  key: (p) => p.orderId,
  aggregate: (p) => ({ type: 'order', id: p.orderId }),
});

export const StockReserved = defineEvent({
  type: 'inventory.stock.reserved',
  version: 1,
  schema: z.object({
    reservationId: id,
    orderId: id,
    warehouseId: id,
    items: z.array(z.object({ productId: id, sku: id, quantityReserved: quantity, unitPriceCents: z.number().int() })),
    expiresAt: z.string(),
  }),
  key: (p) => p.orderId,
  aggregate: (p) => ({ type: 'reservation', id: p.reservationId }),
});

export const StockReservationFailed = defineEvent({
  type: 'inventory.stock.reservation_failed',
  version: 1,
  schema: z.object({
    orderId: id,
    failureReason: z.string(),
    failedItems: z.array(
      z.object({ productId: id, sku: z.string(), requestedQuantity: quantity, availableQuantity: z.number().int() }),
    ),
  }),
  key: (p) => p.orderId,
  aggregate: (p) => ({ type: 'order', id: p.orderId }),
});
// #endregion events

// The catalog's events (seed 002): written by the inventory API in the transaction that changes
// the item or the warehouse, keyed by its id so that one item's history stays in order.
// #region catalog-events
const item = z.object({ itemId: id, sku: z.string(), name: z.string(), unitPriceCents: z.number().int() });

export const ItemCreated = defineEvent({
  type: 'item.created',
  version: 1,
  schema: item,
  key: (p) => p.itemId,
  aggregate: (p) => ({ type: 'item', id: p.itemId }),
});

export const ItemUpdated = defineEvent({
  type: 'item.updated',
  version: 1,
  schema: item.extend({ changed: z.array(z.enum(['name', 'unitPriceCents'])).min(1) }),
  key: (p) => p.itemId,
  aggregate: (p) => ({ type: 'item', id: p.itemId }),
});

export const ItemDeactivated = defineEvent({
  type: 'item.deactivated',
  version: 1,
  schema: z.object({ itemId: id, sku: z.string(), reason: z.string() }),
  key: (p) => p.itemId,
  aggregate: (p) => ({ type: 'item', id: p.itemId }),
});

const warehouse = z.object({ warehouseId: id, code: z.string(), name: z.string() });

export const WarehouseCreated = defineEvent({
  type: 'warehouse.created',
  version: 1,
  schema: warehouse,
  key: (p) => p.warehouseId,
  aggregate: (p) => ({ type: 'warehouse', id: p.warehouseId }),
});

export const WarehouseUpdated = defineEvent({
  type: 'warehouse.updated',
  version: 1,
  schema: warehouse.extend({ changed: z.array(z.enum(['name'])).min(1) }),
  key: (p) => p.warehouseId,
  aggregate: (p) => ({ type: 'warehouse', id: p.warehouseId }),
});
// #endregion catalog-events

export const StockReleased = defineEvent({
  type: 'inventory.stock.released',
  version: 1,
  schema: z.object({
    reservationId: id,
    orderId: id,
    warehouseId: id,
    releaseReason: z.string(),
    items: z.array(z.object({ productId: id, sku: id, quantityReleased: quantity })),
  }),
  key: (p) => p.orderId,
  aggregate: (p) => ({ type: 'reservation', id: p.reservationId }),
});

export const StockDecremented = defineEvent({
  type: 'inventory.stock.decremented',
  version: 1,
  schema: z.object({
    movementId: id,
    reservationId: id,
    orderId: id,
    warehouseId: id,
    items: z.array(
      z.object({ productId: id, sku: id, quantityDecremented: quantity, remainingStock: z.number().int() }),
    ),
  }),
  key: (p) => p.orderId,
  aggregate: (p) => ({ type: 'movement', id: p.movementId }),
});

export const StockReplenished = defineEvent({
  type: 'inventory.stock.replenished',
  version: 1,
  schema: z.object({
    movementId: id,
    warehouseId: id,
    supplierId: z.string().optional(),
    referenceNumber: z.string().optional(),
    items: z.array(
      z.object({ productId: id, sku: id, quantityReplenished: quantity, newStockLevel: z.number().int() }),
    ),
  }),
  key: (p) => p.warehouseId,
  aggregate: (p) => ({ type: 'movement', id: p.movementId }),
});

export const LowStockAlert = defineEvent({
  type: 'inventory.stock.low_stock_alert',
  version: 1,
  schema: z.object({
    alertId: id,
    productId: id,
    sku: id,
    productName: z.string(),
    warehouseId: id,
    warehouseName: z.string(),
    /** Available to promise: on hand less reserved. */
    currentStock: z.number().int(),
    minimumStock: z.number().int(),
    severity: z.enum(severities),
  }),
  key: (p) => `${p.productId}@${p.warehouseId}`,
  aggregate: (p) => ({ type: 'alert', id: p.alertId }),
});

/**
 * One per product and warehouse a movement touched. `previousStock`/`newStock` are on hand for
 * physical movements (decrement, replenishment, adjustment, transfer) and available (on hand less
 * reserved) for reservations and releases, which move no goods.
 */
export const MovementRecorded = defineEvent({
  type: 'inventory.stock.movement_recorded',
  version: 1,
  schema: z.object({
    movementId: id,
    productId: id,
    sku: id,
    warehouseId: id,
    movementType,
    quantity: z.number().int(),
    previousStock: z.number().int(),
    newStock: z.number().int(),
    referenceType: z.string().optional(),
    referenceId: z.string().optional(),
    reason: z.string().optional(),
    performedBy: z.string().optional(),
  }),
  key: (p) => `${p.productId}@${p.warehouseId}`,
  aggregate: (p) => ({ type: 'movement', id: p.movementId }),
});

export const OrderCancelled = defineEvent({
  type: 'order.cancelled',
  version: 1,
  schema: z.object({ orderId: id, cancellationReason: z.string() }),
  key: (p) => p.orderId,
  aggregate: (p) => ({ type: 'order', id: p.orderId }),
});

export const OrderConfirmed = defineEvent({
  type: 'order.confirmed',
  version: 1,
  schema: z.object({ orderId: id, paymentId: id }),
  key: (p) => p.orderId,
  aggregate: (p) => ({ type: 'order', id: p.orderId }),
});

export const OrderFulfilled = defineEvent({
  type: 'order.fulfilled',
  version: 1,
  schema: z.object({ orderId: id, fulfilledAt: z.string() }),
  key: (p) => p.orderId,
  aggregate: (p) => ({ type: 'order', id: p.orderId }),
});

export const PaymentRequested = defineEvent({
  type: 'payment.requested',
  version: 1,
  schema: z.object({ orderId: id, amountCents: z.number().int().nonnegative(), card: z.string() }),
  key: (p) => p.orderId,
  aggregate: (p) => ({ type: 'payment', id: p.orderId }),
});

export const PaymentCharged = defineEvent({
  type: 'payment.charged',
  version: 1,
  schema: z.object({ orderId: id, paymentId: id, amountCents: z.number().int().nonnegative() }),
  key: (p) => p.orderId,
  aggregate: (p) => ({ type: 'payment', id: p.paymentId }),
});

export const PaymentFailed = defineEvent({
  type: 'payment.failed',
  version: 1,
  schema: z.object({ orderId: id, reason: z.string() }),
  key: (p) => p.orderId,
  aggregate: (p) => ({ type: 'payment', id: p.orderId }),
});

export const PaymentRefunded = defineEvent({
  type: 'payment.refunded',
  version: 1,
  schema: z.object({ orderId: id, paymentId: id, amountCents: z.number().int().nonnegative() }),
  key: (p) => p.orderId,
  aggregate: (p) => ({ type: 'payment', id: p.paymentId }),
});

/** The topic of an event type in one run: its first segment under the run's prefix. */
export const topicOf = (prefix: string) => (type: string) => `${prefix}.${type.split('.')[0]}`;
