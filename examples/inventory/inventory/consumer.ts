// What the inventory does with the order service's events, once each: the consumer writes the
// inbox row in the handler's transaction, so a redelivered event changes nothing.

import type { ConsumedEvent } from 'herald';
import { type Consumer, type HandlerContext, NonRetriableError } from 'herald';
import { type GroupSettings, serviceConsumer } from '../db.ts';
import { OrderCancelled, OrderCreated, OrderFulfilled, StockReservationFailed } from '../events.ts';
import { eventOptions, type StockContext } from './context.ts';
import { findReservation, fulfil, release, reserve } from './reservations.ts';

export interface InventoryConsumerOptions extends GroupSettings {
  reservationTtlMs: number;
}

/** The stock context of a handler: its transaction, its emit, and the event as the cause. */
export const handlerContext = (schema: string, event: ConsumedEvent, { tx, emit }: HandlerContext): StockContext => ({
  tx,
  schema,
  emit,
  causedBy: event.id,
  correlationId: event.correlationId ?? event.id,
});

// #region consumer
export function inventoryConsumer(o: InventoryConsumerOptions): Consumer {
  const consumer = serviceConsumer(o, '/inventory');

  // All items or none; a refusal is an event too (reservation_failed), not an error.
  consumer.on(OrderCreated, async (event, context) => {
    const { orderId, warehouseId, items } = event.payload;
    const ctx = handlerContext(o.schema, event, context);
    await reserve(ctx, { orderId, warehouseId, items, ttlMs: o.reservationTtlMs, origin: 'order' });
  });

  consumer.on(OrderCancelled, async (event, context) => {
    const ctx = handlerContext(o.schema, event, context);
    const reservation = await findReservation(ctx, { orderId: event.payload.orderId });
    // No reservation (it failed) or already released (expired): nothing to give back.
    if (reservation) await release(ctx, reservation, event.payload.cancellationReason);
  });

  consumer.on(OrderFulfilled, async (event, context) => {
    const ctx = handlerContext(o.schema, event, context);
    const reservation = await findReservation(ctx, { orderId: event.payload.orderId });
    if (!reservation) throw new NonRetriableError(`order ${event.payload.orderId} has no reservation`);
    const result = await fulfil(ctx, reservation);
    if (!result.fulfilled) {
      // Paid after its reservation expired, and the goods went to other orders since: the order
      // saga compensates (cancels, and the payment is refunded).
      const failureReason = 'the reservation expired and the stock is gone';
      await ctx.emit([
        StockReservationFailed(
          { orderId: reservation.order_id, failureReason, failedItems: result.shortfalls },
          eventOptions(ctx),
        ),
      ]);
    }
  });
  return consumer;
}
// #endregion consumer
