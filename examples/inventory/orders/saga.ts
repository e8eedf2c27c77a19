// The order saga, driven by events: order -> reserve -> charge -> confirm -> fulfil. When the
// charge fails, it compensates by cancelling the order, which releases the reservation. Each step
// is a handler that moves the order on and emits the next command in one transaction, once.
import type { Consumer, HandlerContext, Queryable } from 'herald';
import { type GroupSettings, serviceConsumer } from '../db.ts';
import {
  OrderCancelled,
  OrderConfirmed,
  OrderFulfilled,
  PaymentCharged,
  PaymentFailed,
  PaymentRequested,
  StockDecremented,
  StockReleased,
  StockReservationFailed,
  StockReserved,
} from '../events.ts';
import type { Plan } from './service.ts';

interface OrderRow {
  id: string;
  status: string;
  reservation: 'NONE' | 'HELD' | 'RELEASED';
  plan: Plan;
  total_cents: number;
}

export function orderSaga(o: GroupSettings): Consumer {
  const s = o.schema;
  const consumer = serviceConsumer(o, '/orders');
  const load = async (tx: Queryable, id: string) =>
    (
      await tx.query<OrderRow>(
        `SELECT id, status, reservation, plan, total_cents FROM ${s}.orders WHERE id = $1 FOR UPDATE`,
        [id],
      )
    ).rows[0];
  const move = (tx: Queryable, id: string, status: string, reason: string | null, done = false) =>
    tx.query(
      `UPDATE ${s}.orders SET status = $2, reason = coalesce($3, reason), settled_at = CASE WHEN $4 THEN now() END WHERE id = $1`,
      [id, status, reason, done],
    );
  /** Runs a step only for an order in one of `from`; any other state means the step does not apply. */
  const step =
    (from: string[], fn: (order: OrderRow, ctx: HandlerContext, payload: never) => Promise<void>) =>
    async (event: { payload: { orderId: string } }, ctx: HandlerContext) => {
      const order = await load(ctx.tx, event.payload.orderId);
      if (order && from.includes(order.status)) await fn(order, ctx, event.payload as never);
    };

  // #region saga
  consumer.on(
    StockReserved,
    step(['PENDING'], async (order, { tx, emit }) => {
      await tx.query(`UPDATE ${s}.orders SET reservation = 'HELD' WHERE id = $1`, [order.id]);
      if (order.plan === 'cancel') {
        await move(tx, order.id, 'CANCELLING', 'cancelled by the customer');
        await emit(OrderCancelled({ orderId: order.id, cancellationReason: 'CUSTOMER_CANCELLED' }));
      } else if (order.plan === 'abandon' || order.plan === 'late') {
        // The customer does not pay in time: the reservation expires (a late one pays after).
        await move(tx, order.id, 'AWAITING_PAYMENT', null);
      } else {
        await move(tx, order.id, 'PAYING', null);
        const card = order.plan === 'decline' ? 'tok_declined' : 'tok_visa';
        await emit(PaymentRequested({ orderId: order.id, amountCents: order.total_cents, card }));
      }
    }),
  );
  // Refused at once (PENDING), or, when paid after the reservation expired, at fulfilment: then
  // the order is cancelled and the payment service refunds the charge.
  consumer.on(StockReservationFailed, async (event, { tx, emit }) => {
    const order = await load(tx, event.payload.orderId);
    if (order?.status === 'PENDING') await move(tx, order.id, 'REJECTED', event.payload.failureReason, true);
    if (order?.status === 'FULFILLING') {
      await move(tx, order.id, 'CANCELLED', `paid, then ${event.payload.failureReason}: refunded`, true);
      await emit(OrderCancelled({ orderId: order.id, cancellationReason: 'OUT_OF_STOCK_AFTER_PAYMENT' }));
    }
  });
  consumer.on(
    PaymentCharged,
    step(['PAYING'], async (order, { tx, emit }, p: { paymentId: string }) => {
      await move(tx, order.id, 'FULFILLING', null);
      await emit([
        OrderConfirmed({ orderId: order.id, paymentId: p.paymentId }),
        OrderFulfilled({ orderId: order.id, fulfilledAt: new Date().toISOString() }),
      ]);
    }),
  );
  // Compensation: the charge failed, so the order is cancelled and the inventory releases the stock.
  consumer.on(
    PaymentFailed,
    step(['PAYING'], async (order, { tx, emit }, p: { reason: string }) => {
      if (order.reservation === 'RELEASED') {
        // The reservation expired while the card was being charged: nothing left to give back.
        await move(tx, order.id, 'CANCELLED', `payment failed: ${p.reason}`, true);
        return;
      }
      await move(tx, order.id, 'CANCELLING', `payment failed: ${p.reason}`);
      await emit(OrderCancelled({ orderId: order.id, cancellationReason: 'PAYMENT_FAILED' }));
    }),
  );
  // #endregion saga
  consumer.on(
    StockDecremented,
    step(['FULFILLING'], async (order, { tx }) => {
      await move(tx, order.id, 'COMPLETED', null, true);
    }),
  );
  // Released on cancellation, or on expiry. An order being paid or fulfilled goes on: its payment
  // decides, and the inventory takes the goods from what is available when it is fulfilled.
  consumer.on(StockReleased, async (event, { tx, emit }) => {
    const order = await load(tx, event.payload.orderId);
    if (!order) return;
    await tx.query(`UPDATE ${s}.orders SET reservation = 'RELEASED' WHERE id = $1`, [order.id]);
    if (order.status === 'CANCELLING') await move(tx, order.id, 'CANCELLED', null, true);
    if (order.status === 'AWAITING_PAYMENT' && order.plan === 'late') {
      // Pays after the reservation expired: the goods are taken from what is left at fulfilment.
      await move(tx, order.id, 'PAYING', 'paid after the reservation expired');
      await emit(PaymentRequested({ orderId: order.id, amountCents: order.total_cents, card: 'tok_visa' }));
    } else if (order.status === 'AWAITING_PAYMENT') {
      await move(tx, order.id, 'EXPIRED', 'reservation expired', true);
    }
  });
  return consumer;
}
